package httpnode

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Names a parent workflow or client needs to run nodes and flows: the
// registered workflow types and the default task queue. They are API:
// never renamed.
const (
	NodeWorkflow = "HTTPNode"
	FlowWorkflow = "Flow"
	TaskQueue    = "http-node"
)

// FlowResult is the outcome of a flow: the Flow workflow's result.
type FlowResult struct {
	// Status is SUCCEEDED (every node succeeded or was skipped by its
	// when or runStatus), PARTIAL (a node failed under "continue"),
	// FAILED (a node failed under "abort"), TIMED_OUT or CANCELLED.
	Status string `json:"status"`
	Name   string `json:"name,omitempty"`
	// Nodes are the flow's nodes, in the document's order.
	Nodes []FlowNodeResult `json:"nodes"`
	// Error is the failure that ended the flow (FAILED, TIMED_OUT).
	Error *Error `json:"error,omitempty"`
	// RerunOf is the run this one reran (starter flow rerun), and From the
	// node it reran from.
	RerunOf *FlowRunRef `json:"rerunOf,omitempty"`
	// Notification is how the flow's notify went.
	Notification *CallOutcome `json:"notification,omitempty"`
	From         string       `json:"rerunFrom,omitempty"`
	StartTime    time.Time    `json:"startTime"`
	EndTime      time.Time    `json:"endTime"`
}

// FlowNodeResult is how one node of a flow went.
type FlowNodeResult struct {
	ID string `json:"id"`
	// Status is the node's (SUCCEEDED, FAILED, SKIPPED, TIMED_OUT,
	// CANCELLED) or NOT_RUN.
	Status string `json:"status"`
	// WorkflowID is the node's HTTPNode child workflow: <flow id>/<node id>.
	WorkflowID string `json:"workflowId,omitempty"`
	// Reason says why a node was skipped by the flow or not run.
	Reason string `json:"reason,omitempty"`
	// Reused: a rerun took this node's result from the run it reran
	// (WorkflowID is then the child of that run); no request was sent.
	Reused        bool                       `json:"reused,omitempty"`
	Attempts      int                        `json:"attempts,omitempty"`
	Polls         int                        `json:"polls,omitempty"`
	StatusCode    int                        `json:"statusCode,omitempty"`
	TaskID        string                     `json:"taskId,omitempty"`
	Outputs       map[string]json.RawMessage `json:"outputs,omitempty"`
	SkippedFields []string                   `json:"skippedFields,omitempty"`
	Error         *Error                     `json:"error,omitempty"`
	StartTime     *time.Time                 `json:"startTime,omitempty"`
	EndTime       *time.Time                 `json:"endTime,omitempty"`
}

// Node returns the result of the node id, or nil.
func (r FlowResult) Node(id string) *FlowNodeResult {
	for i := range r.Nodes {
		if r.Nodes[i].ID == id {
			return &r.Nodes[i]
		}
	}
	return nil
}

// Output decodes the node's output name into v; it fails when the node has
// no such output (it failed, or did not name it).
func (r FlowNodeResult) Output(name string, v any) error {
	raw, ok := r.Outputs[name]
	if !ok {
		return &missingOutput{node: r.ID, name: name, status: r.Status}
	}
	return json.Unmarshal(raw, v)
}

// Output decodes the node's output name into v; it fails when the node has
// no such output (it failed, or did not name it).
func (r Result) Output(name string, v any) error {
	raw, ok := r.Outputs[name]
	if !ok {
		return &missingOutput{node: r.Name, name: name, status: r.Status}
	}
	return json.Unmarshal(raw, v)
}

type missingOutput struct{ node, name, status string }

func (e *missingOutput) Error() string {
	return "node " + e.node + " (" + e.status + ") has no output " + e.name
}

// Markdown is the flow as a Markdown table, a row per node (status,
// attempts, polls, duration, error or reason), as the Flow workflow shows
// it in Temporal Web's current details; now ends the running nodes'
// durations.
func (r FlowResult) Markdown(now time.Time) string {
	var b strings.Builder
	ended := 0
	for _, n := range r.Nodes {
		if n.EndTime != nil || n.Status == StatusSkipped || n.Status == StatusNotRun {
			ended++
		}
	}
	name := r.Name
	if name == "" {
		name = "flow"
	}
	fmt.Fprintf(&b, "**%s** · %s · %d of %d nodes ended", MarkdownCell(name), r.Status, ended, len(r.Nodes))
	if r.RerunOf != nil {
		fmt.Fprintf(&b, " · rerun of `%s` from `%s`", MarkdownCell(r.RerunOf.WorkflowID), MarkdownCell(r.From))
	}
	b.WriteString("\n\n| node | status | attempts | polls | duration | error |\n|---|---|---|---|---|---|\n")
	for _, n := range r.Nodes {
		status := n.Status
		if n.Reused {
			status += " (reused)"
		}
		dur := ""
		if n.StartTime != nil {
			end := now
			if n.EndTime != nil {
				end = *n.EndTime
			}
			dur = end.Sub(*n.StartTime).Round(time.Millisecond).String()
		}
		why := n.Reason
		if n.Error != nil {
			why = n.Error.Type + ": " + n.Error.Message
		}
		if len(n.SkippedFields) > 0 {
			why = strings.TrimPrefix(why+"; left out: "+strings.Join(n.SkippedFields, ", "), "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", MarkdownCell(n.ID), status, count(n.Attempts), count(n.Polls), dur, MarkdownCell(why))
	}
	return b.String()
}

// MarkdownCell is s safe in a Markdown table cell: one line, pipes
// escaped, at most 200 characters.
func MarkdownCell(s string) string { return strings.ReplaceAll(OneLine(s, 200), "|", "\\|") }

func count(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}
