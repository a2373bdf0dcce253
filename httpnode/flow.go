package httpnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// Flow is many HTTP nodes in one document: each node starts when the nodes
// it needs have ended (and its When is true), and may use their results
// through references: ${nodes.<id>.outputs.<name>}, ${nodes.<id>.body.<path>},
// ${nodes.<id>.headers.<Name>}, ${nodes.<id>.status}, ${nodes.<id>.statusCode},
// ${nodes.<id>.taskId}, and the flow's own ${flow.name}, ${flow.id},
// ${flow.runId}, ${flow.scheduledTime}. The Flow workflow runs each node as
// an HTTPNode child workflow.
type Flow struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Params are the flow's parameters: every node has them, under its own.
	Params map[string]string `json:"params,omitempty"`
	Nodes  []FlowNode        `json:"nodes"`
	// MaxParallel bounds the nodes running at once (default 10, at most
	// MaxFlowParallel).
	MaxParallel int `json:"maxParallel,omitempty"`
	// Timeout bounds the whole flow: past it, running nodes are cancelled
	// and the flow ends TIMED_OUT. Zero: no limit.
	Timeout Duration `json:"timeout,omitempty"`
	// OnFailure is what a failed node does to the flow, unless the node says
	// otherwise: "abort" (default: the flow ends FAILED, nodes not started
	// are NOT_RUN, running ones are cancelled) or "continue" (later nodes
	// run, leaving out the fields that use the failed node's data; the flow
	// ends PARTIAL).
	OnFailure string `json:"onFailure,omitempty"`
	// ScheduledTime (RFC 3339) is the one time every node's time macros are
	// computed from, when no Temporal Schedule started the flow; without it,
	// the flow's start time.
	ScheduledTime string `json:"scheduledTime,omitempty"`
	// Notify sends one TaskFinish document when the flow ends, with a
	// JobsDetail entry per node (FlowFinish); each node may notify too.
	Notify *Notify `json:"notify,omitempty"`
	// Rerun makes this run a rerun of an earlier run of the flow (starter
	// flow rerun sets it): the nodes in Rerun.Reuse end at once with their
	// recorded results, the others run.
	Rerun *FlowRerun `json:"rerun,omitempty"`
}

// FlowRerun says which run a flow run reruns and what it reuses of it.
type FlowRerun struct {
	// Of is the earlier run: its workflow id and run id.
	Of FlowRunRef `json:"of"`
	// From is the node the rerun starts from: it and every node downstream
	// of it run again, so none of them may be in Reuse.
	From string `json:"from"`
	// Reuse holds the recorded results of the nodes that do not run again,
	// by node id: SUCCEEDED or SKIPPED ones only.
	Reuse map[string]ReusedNode `json:"reuse,omitempty"`
}

// FlowRunRef names a run of a flow.
type FlowRunRef struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId,omitempty"`
}

// ReusedNode is a node's recorded end, as a rerun reuses it: its status,
// the child workflow that ran it, and the result later nodes read (a slim
// Result: outputs, task id, response; nil for a node skipped without a
// child).
type ReusedNode struct {
	Status     string  `json:"status"`
	WorkflowID string  `json:"workflowId,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	Result     *Result `json:"result,omitempty"`
}

// Reusable is what a rerun keeps of a node's recorded result: what later
// nodes' references and whens read, and what the flow's result shows.
func Reusable(r *Result) *Result {
	if r == nil {
		return nil
	}
	return &Result{Status: r.Status, Name: r.Name, Attempts: r.Attempts, Polls: r.Polls, TaskID: r.TaskID, Outputs: r.Outputs,
		Response: r.Response, StartTime: r.StartTime, EndTime: r.EndTime}
}

// RerunSet is the nodes a rerun from node from runs again: it and every
// node downstream of it, sorted.
func (f Flow) RerunSet(from string) []string {
	return slices.Sorted(slices.Values(append(f.Downstream(from), from)))
}

// FlowNode is one node of a flow.
type FlowNode struct {
	// ID names the node in references, in needs and in its child
	// workflow's id (<flow id>/<node id>): letters, digits, _ and -.
	ID string `json:"id"`
	// Needs are the nodes that must end before this one starts.
	Needs []string `json:"needs,omitempty"`
	// When, a CEL expression over the upstream nodes' results (nodes.<id>
	// with status, statusCode, taskId, outputs, headers, body) and flow
	// (name, id, runId, scheduledTime), must be true for the node to run;
	// else it is SKIPPED. E.g. "nodes.load.status == 'SUCCEEDED'".
	When string `json:"when,omitempty"`
	Node Node   `json:"node"`
}

// Flow limits and defaults.
const (
	MaxFlowNodes       = 500
	MaxFlowParallel    = 100
	DefaultMaxParallel = 10
	maxFlowIDBytes     = 64
)

// Flow and flow-node statuses beyond the node's own (Status*).
const (
	// StatusPartial: the flow ended, but a node failed under "continue".
	StatusPartial = "PARTIAL"
	// StatusNotRun: the flow ended (aborted, timed out, cancelled) before
	// the node could start.
	StatusNotRun = "NOT_RUN"
)

// IsFlow reports whether a JSON document is a flow (it has "nodes") rather
// than a node.
func IsFlow(data []byte) bool {
	var probe struct {
		Nodes any `json:"nodes"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.Nodes != nil
}

// DecodeFlow reads a flow from JSON strictly and validates it, its nodes
// included: every problem is reported with its field path
// (nodes[1].node.request.url) in one *ValidationError.
func DecodeFlow(data []byte) (Flow, error) {
	var f Flow
	if t := bytes.TrimSpace(data); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return f, &ValidationError{Problems: []FieldError{{Path: "flow", Message: "input is empty (give a flow object with nodes)"}}, Of: "flow"}
	}
	fatal, errs := checkSyntax(data)
	if len(fatal) > 0 {
		return f, &ValidationError{Problems: fatal, Of: "flow"}
	}
	decodeStrict(data, reflect.ValueOf(&f).Elem(), "", &errs)
	var verr *ValidationError
	if errors.As(f.Validate(), &verr) {
		for _, p := range verr.Problems {
			if !covered(errs, p.Path) {
				errs = append(errs, p)
			}
		}
	}
	if len(errs) == 0 {
		return f, nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return f, &ValidationError{Problems: errs, Of: "flow"}
}

// Validate checks the flow and each of its nodes: ids, needs (known, no
// cycle), references (to upstream nodes only), limits.
func (f Flow) Validate() error {
	var errs []FieldError
	add := adder(&errs)
	switch {
	case len(f.Nodes) == 0:
		add("nodes", "is required: give at least one node ({\"id\": \"a\", \"node\": {\"request\": {\"url\": ...}}})")
	case len(f.Nodes) > MaxFlowNodes:
		add("nodes", "has %d nodes, more than the %d a flow may have (split it into flows run by a parent)", len(f.Nodes), MaxFlowNodes)
	}
	if f.MaxParallel < 0 || f.MaxParallel > MaxFlowParallel {
		add("maxParallel", "%d is out of range (use 1 to %d; 0 means %d)", f.MaxParallel, MaxFlowParallel, DefaultMaxParallel)
	}
	if f.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	if !slices.Contains([]string{"", OnFailureAbort, OnFailureContinue}, f.OnFailure) {
		add("onFailure", "%q is not allowed (use \"abort\" or \"continue\")", f.OnFailure)
	}
	if f.ScheduledTime != "" {
		if _, err := time.Parse(time.RFC3339, f.ScheduledTime); err != nil {
			add("scheduledTime", "%q is not an RFC 3339 time (use e.g. \"2026-11-23T02:00:00Z\")", f.ScheduledTime)
		}
	}
	for _, k := range sortedOf(f.Params) {
		if err := CheckParamName(k); err != nil {
			add("params."+k, "%v", err)
		}
	}
	index := map[string]int{}
	for i, n := range f.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		switch _, dup := index[n.ID]; {
		case !validFlowID(n.ID):
			add(path+".id", "%q is not a node id (use 1 to %d letters, digits, _ and -, starting with a letter)", n.ID, maxFlowIDBytes)
		case dup:
			add(path+".id", "%q is the id of nodes[%d] too (ids must be unique)", n.ID, index[n.ID])
		default:
			index[n.ID] = i
		}
	}
	for i, n := range f.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		for j, need := range n.Needs {
			if _, ok := index[need]; !ok {
				add(fmt.Sprintf("%s.needs[%d]", path, j), "%q is not the id of a node of this flow", need)
			} else if need == n.ID {
				add(fmt.Sprintf("%s.needs[%d]", path, j), "a node cannot need itself")
			}
		}
	}
	if cycle := f.cycle(index); cycle != nil {
		add(fmt.Sprintf("nodes[%d].needs", index[cycle[0]]), "the nodes need each other in a cycle: %s (a flow runs each node after the nodes it needs)", strings.Join(cycle, " → "))
	} else {
		f.validateNodes(index, &errs)
		f.validateRerun(index, add)
		f.validateNotify(add)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs, Of: "flow"}
}

// validateNodes validates each node as a node, and its references and
// When against the nodes upstream of it.
func (f Flow) validateNodes(index map[string]int, errs *[]FieldError) {
	for i, fn := range f.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		up := f.Upstream(fn.ID)
		for _, use := range fn.Node.FlowRefs() {
			if err := checkFlowRef(use.Ref, up, index); err != nil {
				*errs = append(*errs, FieldError{path + ".node." + use.Field, err.Error()})
			}
		}
		var verr *ValidationError
		if errors.As(fn.Node.Validate(), &verr) {
			for _, p := range verr.Problems {
				*errs = append(*errs, FieldError{path + ".node." + p.Path, p.Message})
			}
		}
		if fn.When != "" {
			if err := checkWhenText(fn.When, up); err != nil {
				*errs = append(*errs, FieldError{path + ".when", err.Error()})
			}
		}
	}
}

// NotifyNode is the node the Flow workflow renders the flow's notify
// with: the flow's name and params, the notify as its main request too.
func (f Flow) NotifyNode() Node {
	return Node{Name: f.Name, Params: f.Params, Request: Request{Method: "POST", URL: f.Notify.URL}, Notify: f.Notify}
}

// validateNotify checks the flow's notify as a node's (its problems under
// notify), without references to nodes: its document lists them all.
func (f Flow) validateNotify(add func(string, string, ...any)) {
	if f.Notify == nil {
		return
	}
	n := f.NotifyNode()
	var verr *ValidationError
	if errors.As(n.Validate(), &verr) {
		for _, p := range verr.Problems {
			if strings.HasPrefix(p.Path, "notify") {
				add(p.Path, "%s", p.Message)
			}
		}
	}
	for _, use := range n.FlowRefs() {
		if strings.HasPrefix(use.Field, "notify") {
			add(use.Field, "${%s}: the flow's notify cannot use references to nodes or the flow (its document carries every node's end and the flow's ids)", use.Ref)
		}
	}
}

// validateRerun checks a rerun's from and reuse against the flow: a reused
// node is one of its nodes, not one that runs again, and ended in a way a
// later node can use.
func (f Flow) validateRerun(index map[string]int, add func(string, string, ...any)) {
	rr := f.Rerun
	if rr == nil {
		return
	}
	if rr.Of.WorkflowID == "" {
		add("rerun.of.workflowId", "is required (the flow run this one reruns)")
	}
	if _, ok := index[rr.From]; !ok {
		add("rerun.from", "%q is not the id of a node of this flow", rr.From)
		return
	}
	again := f.RerunSet(rr.From)
	for _, id := range sortedOf(rr.Reuse) {
		_, known := index[id]
		switch n := rr.Reuse[id]; {
		case !known:
			add("rerun.reuse."+id, "is not the id of a node of this flow")
		case slices.Contains(again, id):
			add("rerun.reuse."+id, "runs again (it is %s or downstream of it): it cannot be reused", rr.From)
		case n.Status != StatusSucceeded && n.Status != StatusSkipped:
			add("rerun.reuse."+id+".status", "%q cannot be reused (only SUCCEEDED and SKIPPED nodes are; the others run again)", n.Status)
		}
	}
}

// validFlowID reports whether s can be a node's id.
func validFlowID(s string) bool {
	if s == "" || len(s) > maxFlowIDBytes || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// cycle returns the ids of a cycle of needs (the first again at the end),
// or nil.
func (f Flow) cycle(index map[string]int) []string {
	const (
		unseen = iota
		onPath
		done
	)
	mark := make([]int, len(f.Nodes))
	var path []string
	var visit func(i int) []string
	visit = func(i int) []string {
		mark[i] = onPath
		path = append(path, f.Nodes[i].ID)
		for _, need := range f.Nodes[i].Needs {
			j, ok := index[need]
			if !ok || j == i {
				continue
			}
			switch mark[j] {
			case onPath:
				from := slices.Index(path, need)
				return append(slices.Clone(path[from:]), need)
			case unseen:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		mark[i] = done
		return nil
	}
	for i := range f.Nodes {
		if mark[i] == unseen {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// Upstream returns the ids of the nodes that id needs, directly or through
// others, sorted.
func (f Flow) Upstream(id string) []string {
	byID := map[string]FlowNode{}
	for _, n := range f.Nodes {
		byID[n.ID] = n
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(id string) {
		for _, need := range byID[id].Needs {
			if !seen[need] && need != id {
				seen[need] = true
				walk(need)
			}
		}
	}
	walk(id)
	return sortedOf(seen)
}

// Downstream returns the ids of the nodes that need id, directly or through
// others, sorted.
func (f Flow) Downstream(id string) []string {
	seen := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, n := range f.Nodes {
			if seen[n.ID] {
				continue
			}
			for _, need := range n.Needs {
				if need == id || seen[need] {
					seen[n.ID], changed = true, true
					break
				}
			}
		}
	}
	return sortedOf(seen)
}

// Expressions lists the flow's expressions: each node's when and the
// expressions of each node, their fields under nodes[i].
func (f Flow) Expressions() []ExprSpec {
	var out []ExprSpec
	for i, n := range f.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		if n.When != "" {
			out = append(out, ExprSpec{Field: path + ".when", Kind: ExprWhen, Src: n.When, Rule: true})
		}
		for _, e := range n.Node.Expressions() {
			e.Field = path + ".node." + e.Field
			out = append(out, e)
		}
	}
	return out
}

// CheckExpressions compiles every expression of the flow (see
// Node.CheckExpressions): a *ValidationError names each that does not.
func (f Flow) CheckExpressions() error { return CheckExprs(f.Expressions()) }

// WithDefaults returns f with its defaults applied.
func (f Flow) WithDefaults() Flow {
	if f.MaxParallel == 0 {
		f.MaxParallel = DefaultMaxParallel
	}
	if f.OnFailure == "" {
		f.OnFailure = OnFailureAbort
	}
	return f
}

// sortedOf is the keys of m, sorted.
func sortedOf[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
