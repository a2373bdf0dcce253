package httpnode

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func flowNode(id string, needs []string, url string) string {
	n, _ := json.Marshal(needs)
	return fmt.Sprintf(`{"id": %q, "needs": %s, "node": {"request": {"url": %q}}}`, id, n, url)
}

// Every problem of a flow is reported with its path.
func TestDecodeFlow_Problems(t *testing.T) {
	cases := []struct{ doc, want string }{
		{`{"nodes": []}`, `nodes: is required`},
		{`{"nodes": [` + flowNode("a", nil, "https://x") + `], "maxParallel": 500}`, `maxParallel: 500 is out of range (use 1 to 100; 0 means 10)`},
		{`{"nodes": [` + flowNode("a", nil, "https://x") + `], "onFailure": "ignore"}`, `onFailure: "ignore" is not allowed`},
		{`{"nodes": [` + flowNode("1a", nil, "https://x") + `]}`, `nodes[0].id: "1a" is not a node id`},
		{`{"nodes": [` + flowNode("a", []string{"a"}, "https://x") + `]}`, `nodes[0].needs[0]: a node cannot need itself`},
		{`{"nodes": [` + flowNode("a", []string{"b"}, "https://x") + `,` + flowNode("b", []string{"a"}, "https://x") + `]}`, `the nodes need each other in a cycle: a → b → a`},
		{`{"nodes": [` + flowNode("a", nil, "https://x/${nodes.a.bogus}") + `]}`, `nodes[0].node.request.url: ${nodes.a.bogus} is not a reference to a node`},
		{`{"nodes": [` + flowNode("a", nil, "https://x/${flow.owner}") + `]}`, `${flow.owner} is not a flow reference`},
		{`{"nodes": [` + flowNode("a", nil, "https://x/${nodes.zz.status}") + `]}`, `${nodes.zz.status}: "zz" is not a node of this flow`},
		{`{"nodes": [{"id": "a", "nodes": 1, "node": {"request": {"url": "https://x"}}}]}`, `nodes[0].nodes: unknown field`},
		{`{"nodes": [{"id": "a", "node": {"request": {"url": "https://x", "methd": "GET"}}}]}`, `nodes[0].node.request.methd: unknown field`},
	}
	for _, c := range cases {
		_, err := DecodeFlow([]byte(c.doc))
		require.ErrorContains(t, err, c.want, c.doc)
	}
	var many []string
	for i := range MaxFlowNodes + 1 {
		many = append(many, flowNode(fmt.Sprintf("n%d", i), nil, "https://x"))
	}
	_, err := DecodeFlow([]byte(`{"nodes": [` + strings.Join(many, ",") + `]}`))
	require.ErrorContains(t, err, "nodes: has 501 nodes, more than the 500 a flow may have")
	require.True(t, IsFlow([]byte(`{"nodes": []}`)))
	require.False(t, IsFlow([]byte(`{"request": {"url": "https://x"}}`)))
}

func TestFlow_UpstreamAndDownstream(t *testing.T) {
	f, err := DecodeFlow([]byte(`{"nodes": [` + flowNode("a", nil, "https://x") + `,` + flowNode("b", []string{"a"}, "https://x") + `,` +
		flowNode("c", []string{"b"}, "https://x") + `,` + flowNode("d", nil, "https://x") + `]}`))
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, f.Upstream("c"))
	require.Equal(t, []string{"b", "c"}, f.Downstream("a"))
	require.Empty(t, f.Downstream("d"))
}

// The values of references: outputs keep their JSON, a failed node has
// only its status, body paths and headers read the main response.
func TestFlowRefValue(t *testing.T) {
	ok := &Result{Status: StatusSucceeded, TaskID: "t-1", Outputs: map[string]json.RawMessage{"rows": json.RawMessage(`1200`)},
		Response: &Response{StatusCode: 201, Headers: map[string]string{"Content-Type": "application/json", "X-Job": "j-9"}, Body: `{"data": {"id": 7, "tags": ["a"]}}`}}
	nodes := map[string]NodeData{"ok": {Status: StatusSucceeded, Result: ok}, "bad": {Status: StatusFailed, Result: &Result{Status: StatusFailed, TaskID: "t-2"}}}
	fv := FlowVars{Name: "nightly", ID: "f-1", RunID: "r-1", ScheduledTime: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)}
	for ref, want := range map[string]string{
		"nodes.ok.outputs.rows": `1200`, "nodes.ok.taskId": `"t-1"`, "nodes.ok.statusCode": `201`, "nodes.ok.status": `"SUCCEEDED"`,
		"nodes.ok.headers.x-job": `"j-9"`, "nodes.ok.body.data.id": `7`, "nodes.ok.body.data.tags": `["a"]`, "nodes.bad.status": `"FAILED"`,
		"flow.name": `"nightly"`, "flow.id": `"f-1"`, "flow.runId": `"r-1"`, "flow.scheduledTime": `"2026-12-01T02:00:00Z"`,
	} {
		v, found := FlowRefValue(ref, nodes, fv)
		require.True(t, found, ref)
		require.JSONEq(t, want, string(v), ref)
	}
	for _, ref := range []string{"nodes.bad.taskId", "nodes.ok.outputs.nope", "nodes.ok.body.data.nope", "nodes.ok.headers.x-nope", "nodes.gone.status"} {
		_, found := FlowRefValue(ref, nodes, fv)
		require.False(t, found, ref)
	}
}

// LeaveOut drops every field that uses missing data, and says which; a
// URL that needs it blocks the node.
func TestNode_LeaveOut(t *testing.T) {
	n, err := Decode([]byte(`{"request": {"method": "POST", "url": "https://x.example/load",
		"query": {"day": "${yyyyMMdd}", "job": "${nodes.bad.taskId}"}, "headers": {"X-Run": "${flow.runId}", "X-Bad": "id ${nodes.bad.outputs.id}"},
		"body": {"keep": "${nodes.ok.outputs.a}", "drop": "${nodes.bad.outputs.b}", "list": ["x", "${nodes.bad.status}", "${nodes.bad.outputs.c}"], "n": 1}},
		"notify": {"url": "https://hooks.example/${nodes.bad.outputs.hook}"}}`))
	require.NoError(t, err)
	missing := func(ref string) bool { return strings.HasPrefix(ref, "nodes.bad.") && ref != "nodes.bad.status" }
	out, skipped, blocked := n.LeaveOut(missing)
	require.Empty(t, blocked)
	require.Equal(t, []string{"request.query.job", "request.headers.X-Bad", "request.body.drop", "request.body.list.2", "notify"}, skipped)
	require.Equal(t, map[string]string{"day": "${yyyyMMdd}"}, out.Request.Query)
	require.Equal(t, map[string]string{"X-Run": "${flow.runId}"}, out.Request.Headers)
	require.JSONEq(t, `{"keep": "${nodes.ok.outputs.a}", "list": ["x", "${nodes.bad.status}"], "n": 1}`, string(out.Request.Body))
	require.Nil(t, out.Notify)
	require.NotNil(t, n.Notify, "the node itself is unchanged")
	require.Contains(t, string(n.Request.Body), "drop")

	n.Request.URL = "https://x.example/${nodes.bad.outputs.id}"
	_, _, blocked = n.LeaveOut(missing)
	require.Equal(t, "request.url", blocked)
}

// Rendering fills in flow references per context (escaped in the URL's
// path) and keeps the JSON type of a body value that is one reference.
func TestRender_FlowRefs(t *testing.T) {
	n, err := Decode([]byte(`{"request": {"method": "POST", "url": "https://x.example/files/${nodes.a.outputs.name}",
		"headers": {"X-Run": "${flow.runId}"},
		"body": {"rows": "${nodes.a.outputs.rows}", "file": "${nodes.a.outputs.meta}", "text": "rows: ${nodes.a.outputs.rows}", "name": "${nodes.a.outputs.name}"}}}`))
	require.NoError(t, err)
	n.Refs = map[string]json.RawMessage{"nodes.a.outputs.name": json.RawMessage(`"a b/c"`), "nodes.a.outputs.rows": json.RawMessage(`1200`),
		"nodes.a.outputs.meta": json.RawMessage(`{"size": 3}`), "flow.runId": json.RawMessage(`"r-1"`)}
	rd, err := n.Render(RenderEnv{Time: time.Now()})
	require.NoError(t, err)
	require.Equal(t, "https://x.example/files/a%20b%2Fc", rd.Request.URL)
	require.Equal(t, "r-1", rd.Request.Headers["X-Run"])
	require.JSONEq(t, `{"rows": 1200, "file": {"size": 3}, "text": "rows: 1200", "name": "a b/c"}`, string(rd.Request.Body))

	n.Refs = nil // a node run alone has no flow
	_, err = n.Render(RenderEnv{Time: time.Now()})
	require.ErrorContains(t, err, "${nodes.a.outputs.name} has no value: it refers to the data of a flow")
}

// when reads upstream nodes only, and is compiled by CheckExpressions.
func TestFlow_When(t *testing.T) {
	doc := func(when string) []byte {
		return []byte(`{"nodes": [` + flowNode("a", nil, "https://x") + `, {"id": "b", "needs": ["a"], "when": ` + when + `, "node": {"request": {"url": "https://x"}}}]}`)
	}
	f, err := DecodeFlow(doc(`"nodes.a.status == 'SUCCEEDED' && nodes.a.outputs.rows > 0"`))
	require.NoError(t, err)
	require.NoError(t, f.CheckExpressions())
	_, err = DecodeFlow(doc(`"nodes['b'].status == 'x'"`))
	require.ErrorContains(t, err, `nodes[1].when: "nodes['b'].status == 'x'" reads node "b", which is not upstream of this node`)
	f, err = DecodeFlow(doc(`"nodes.a.status =="`))
	require.NoError(t, err, "compiled apart, as the workflow never compiles")
	require.ErrorContains(t, f.CheckExpressions(), "nodes[1].when:")
}

// An unknown field in a list item (failWhen) is refused too; nodes started
// before that rule replay as they ran (NewRulesOnly).
func TestDecode_UnknownFieldInAListItem(t *testing.T) {
	_, err := Decode([]byte(`{"request": {"url": "https://x.example", "failWhen": [{"whne": "true", "message": "x"}]}}`))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.Contains(t, err.Error(), `request.failWhen[0].whne: unknown field (did you mean "when"?)`)
	require.False(t, verr.NewRulesOnly(), "the item also lacks its when")
	_, err = Decode([]byte(`{"request": {"url": "https://x.example", "failWhen": [{"when": "true", "message": "x", "retries": 1}]}}`))
	require.ErrorAs(t, err, &verr)
	require.True(t, verr.NewRulesOnly())
}

// An upstream node's data cannot smuggle a reference into a later node:
// a value that holds "${" is refused, naming the field.
func TestRender_FlowRefValueCannotHoldAReference(t *testing.T) {
	n, err := Decode([]byte(`{"request": {"method": "POST", "url": "https://x.example", "headers": {"X-V": "${nodes.a.outputs.v}"},
		"body": {"o": "${nodes.a.outputs.o}"}}}`))
	require.NoError(t, err)
	n.Refs = map[string]json.RawMessage{"nodes.a.outputs.v": json.RawMessage(`"${secret.TOKEN}"`), "nodes.a.outputs.o": json.RawMessage(`{"k": "${callbackUrl}"}`)}
	_, err = n.Render(RenderEnv{Time: time.Now()})
	require.ErrorContains(t, err, `request.headers.X-V: the value of ${nodes.a.outputs.v} holds "${"`)
	require.ErrorContains(t, err, `request.body: the value of ${nodes.a.outputs.o} holds "${"`)
}

// A rerun's from and reuse, and a flow's notify, are checked against the
// flow, each problem with its path.
func TestDecodeFlow_RerunAndNotifyProblems(t *testing.T) {
	nodes := `"nodes": [` + flowNode("a", nil, "https://x") + `,` + flowNode("b", []string{"a"}, "https://x") + `,` + flowNode("c", []string{"b"}, "https://x") + `]`
	cases := []struct{ extra, want string }{
		{`"rerun": {"of": {"workflowId": "f1"}, "from": "zz"}`, `rerun.from: "zz" is not the id of a node of this flow`},
		{`"rerun": {"from": "a"}`, `rerun.of.workflowId: is required`},
		{`"rerun": {"of": {"workflowId": "f1"}, "from": "b", "reuse": {"c": {"status": "SUCCEEDED"}}}`, `rerun.reuse.c: runs again (it is b or downstream of it): it cannot be reused`},
		{`"rerun": {"of": {"workflowId": "f1"}, "from": "b", "reuse": {"b": {"status": "SUCCEEDED"}}}`, `rerun.reuse.b: runs again`},
		{`"rerun": {"of": {"workflowId": "f1"}, "from": "b", "reuse": {"a": {"status": "FAILED"}}}`, `rerun.reuse.a.status: "FAILED" cannot be reused (only SUCCEEDED and SKIPPED nodes are; the others run again)`},
		{`"rerun": {"of": {"workflowId": "f1"}, "from": "b", "reuse": {"zz": {"status": "SUCCEEDED"}}}`, `rerun.reuse.zz: is not the id of a node of this flow`},
		{`"rerun": {"of": {"workflowId": "f1"}, "from": "b", "reuse": {"a": {"status": "SUCCEEDED", "bogus": 1}}}`, `rerun.reuse.a.bogus: unknown field`},
		{`"notify": {"format": "yaml"}`, `notify.url: is required`},
		{`"notify": {"url": "https://h.example", "format": "yaml"}`, `notify.format: "yaml" is not supported`},
		{`"notify": {"url": "https://h.example/${nodes.a.taskId}"}`, `notify.url: ${nodes.a.taskId}: the flow's notify cannot use references to nodes or the flow`},
		{`"notify": {"url": "https://h.example", "on": ["partial", "done"]}`, `notify.on[1]: "done" is not an end state`},
	}
	for _, c := range cases {
		_, err := DecodeFlow([]byte(`{` + nodes + `, ` + c.extra + `}`))
		require.ErrorContains(t, err, c.want, c.extra)
	}
	f, err := DecodeFlow([]byte(`{` + nodes + `, "notify": {"url": "https://h.example/${region}", "on": ["partial"]},
		"rerun": {"of": {"workflowId": "f1"}, "from": "b", "reuse": {"a": {"status": "SUCCEEDED"}}}}`))
	require.NoError(t, err)
	require.Equal(t, []string{"b", "c"}, f.RerunSet("b"))
	require.True(t, f.Notify.Notifies(StatusPartial))
	require.False(t, f.Notify.Notifies(StatusSucceeded))
}

// The flow's Markdown table: a row per node, pipes and newlines in errors
// kept inside their cell, reused nodes marked.
func TestFlowResult_Markdown(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(1500*time.Millisecond), t0.Add(time.Minute)
	r := FlowResult{Name: "nightly", Status: "RUNNING", RerunOf: &FlowRunRef{WorkflowID: "old"}, From: "b", Nodes: []FlowNodeResult{
		{ID: "a", Status: StatusSucceeded, Attempts: 1, Polls: 3, StartTime: &t0, EndTime: &t1, Reused: true},
		{ID: "b", Status: "RUNNING", Attempts: 2, StartTime: &t0},
		{ID: "c", Status: StatusFailed, Attempts: 1, StartTime: &t0, EndTime: &t1, Error: &Error{Type: ErrHTTPStatus, Message: "500 | boom\nsecond line"}},
		{ID: "d", Status: StatusSkipped, Reason: "its when is false", SkippedFields: []string{"request.query.x"}},
		{ID: "e", Status: "PENDING"},
	}}
	require.Equal(t, "**nightly** · RUNNING · 3 of 5 nodes ended · rerun of `old` from `b`\n\n"+
		"| node | status | attempts | polls | duration | error |\n|---|---|---|---|---|---|\n"+
		"| a | SUCCEEDED (reused) | 1 | 3 | 1.5s |  |\n"+
		"| b | RUNNING | 2 |  | 1m0s |  |\n"+
		"| c | FAILED | 1 |  | 1.5s | HTTPStatus: 500 \\| boom second line |\n"+
		"| d | SKIPPED |  |  |  | its when is false; left out: request.query.x |\n"+
		"| e | PENDING |  |  |  |  |\n", r.Markdown(t2))
}

// A flow's notification in XML: one JobsDetail element per node.
func TestFlowFinish_EncodesEveryNode(t *testing.T) {
	doc := FlowFinish{EventName: TaskFinishEvent, State: "Partial", JobsDetail: []TaskFinishJob{{JobID: "f/a", State: "Success"}, {JobID: "f/b", State: "Failed"}},
		Workflow: TaskFinishRunInfo{WorkflowID: "f", RunID: "r", WorkflowType: "Flow", WorkflowName: "nightly", Name: "nightly"}}
	b, ct, err := doc.Encode(FormatXML)
	require.NoError(t, err)
	require.Equal(t, "application/xml", ct)
	require.Equal(t, 2, strings.Count(string(b), "<JobsDetail>"))
	require.Contains(t, string(b), "<WorkflowName>nightly</WorkflowName>")
	b, _, err = doc.Encode(FormatJSON)
	require.NoError(t, err)
	require.Contains(t, string(b), `"JobsDetail":[{`)
}
