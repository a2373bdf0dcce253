package httpnode

import (
	"encoding/json"
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
	Error     *Error    `json:"error,omitempty"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
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
	Reason        string                     `json:"reason,omitempty"`
	Attempts      int                        `json:"attempts,omitempty"`
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
