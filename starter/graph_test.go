package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/workflows"
)

func graphNode(id, method, url string, needs ...string) httpnode.FlowNode {
	return httpnode.FlowNode{ID: id, Needs: needs, Node: httpnode.Node{Request: httpnode.Request{Method: method, URL: url}}}
}

func graph(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = flowGraphCmd(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// edges are the edge lines of a diagram, trimmed.
func edges(diagram string) []string {
	var out []string
	for _, l := range strings.Split(diagram, "\n") {
		if strings.Contains(l, "-->") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func TestGraph_EdgesFollowNeedsAndWhenLabelsThem(t *testing.T) {
	load := graphNode("load", "", "https://api.example/load", "export")
	load.When = "nodes.export.status   ==\n 'SUCCEEDED' && nodes.export.outputs.rows > 0 && nodes.export.outputs.size < 1000000"
	f := httpnode.Flow{Nodes: []httpnode.FlowNode{
		graphNode("export", "post", "https://api.example/exports?token=s3cret#top"),
		graphNode("wait", "GET", "https://api.example/exports/${nodes.export.outputs.id}", "export"),
		load,
	}}
	require.Equal(t, `flowchart TD
    n_export["export<br/>POST api.example/exports"]
    n_wait["wait<br/>GET api.example/exports/${nodes.export.outputs.id}"]
    n_load["load<br/>GET api.example/load"]
    n_export --> n_wait
    n_export -->|"nodes.export.status == 'SUCCEEDED' #amp;#amp; n…"| n_load
`, mermaid(f, nil))
}

func TestGraph_EscapesLabelsAndNamesReservedIDsSafely(t *testing.T) {
	end := graphNode("end", "GET", `https://x.example/a"b|c<d>`+strings.Repeat("x", 60), "graph", "a-b", "a_b")
	end.When = `nodes.graph.body.name == "a|b" #1`
	start := graphNode("graph", "", "https://x.example/")
	start.When = "flow.name == 'nightly'"
	f := httpnode.Flow{Nodes: []httpnode.FlowNode{start, graphNode("a-b", "", "https://x.example/ab"), graphNode("a_b", "", "https://x.example/a_b"), end}}
	got := mermaid(f, nil)
	require.Contains(t, got, `    n_end["end<br/>GET x.example/a#quot;b#124;c#lt;d#gt;`+strings.Repeat("x", 29)+"…\"]\n", "the URL is escaped and shortened")
	require.Contains(t, got, `    n_graph["graph<br/>GET x.example/<br/>when flow.name == 'nightly'"]`+"\n", "a when without an edge is in the label")
	require.Equal(t, []string{
		`n_graph -->|"nodes.graph.body.name == #quot;a#124;b#quot; #35;1"| n_end`,
		`n_a_b_2 -->|"nodes.graph.body.name == #quot;a#124;b#quot; #35;1"| n_end`,
		`n_a_b -->|"nodes.graph.body.name == #quot;a#124;b#quot; #35;1"| n_end`,
	}, edges(got), `"a-b" cannot be n_a-b ("--" starts an edge in Mermaid) nor n_a_b, the name of "a_b"`)
	require.NotContains(t, got, " end[", "no node is named by a Mermaid keyword")
}

func TestGraph_ColoursNodesByStatus(t *testing.T) {
	f := httpnode.Flow{}
	res := &httpnode.FlowResult{Status: workflows.StatusRunning}
	for _, st := range []string{httpnode.StatusSucceeded, httpnode.StatusFailed, httpnode.StatusTimedOut, workflows.StatusRunning,
		httpnode.StatusSkipped, httpnode.StatusNotRun, httpnode.StatusCancelled} {
		id := strings.ToLower(strings.ReplaceAll(st, "_", ""))
		f.Nodes = append(f.Nodes, graphNode(id, "", "https://x.example/"+id))
		res.Nodes = append(res.Nodes, httpnode.FlowNodeResult{ID: id, Status: st, Reused: st == httpnode.StatusSucceeded})
	}
	f.Nodes = append(f.Nodes, graphNode("later", "", "https://x.example/later", "running"))
	got := mermaid(f, res)
	require.Contains(t, got, `    n_succeeded["succeeded · SUCCEEDED · reused<br/>GET x.example/succeeded"]`)
	require.Contains(t, got, `    n_timedout["timedout · TIMED_OUT<br/>GET x.example/timedout"]`)
	require.Contains(t, got, `    n_later["later<br/>GET x.example/later"]`, "a node the result does not know has no status")
	require.True(t, strings.HasSuffix(got, `
    classDef succeeded fill:#d3f9d8,stroke:#2b8a3e,color:#1b4332
    classDef failed fill:#ffe3e3,stroke:#c92a2a,color:#5c0a0a
    classDef running fill:#d0ebff,stroke:#1c7ed6,color:#0b3d6e
    classDef skipped fill:#e9ecef,stroke:#868e96,color:#495057
    classDef cancelled fill:#ffe8cc,stroke:#e8590c,color:#662200
    class n_succeeded succeeded
    class n_failed failed
    class n_timedout failed
    class n_running running
    class n_skipped skipped
    class n_notrun skipped
    class n_cancelled cancelled
`), "only the classes in use are defined; every node with a status has one:\n%s", got)

	res.Nodes = append(res.Nodes, httpnode.FlowNodeResult{ID: "later", Status: workflows.StatusPending})
	require.Contains(t, mermaid(f, res), "    classDef pending fill:#ffffff")
	require.True(t, strings.HasSuffix(mermaid(f, res), "    class n_later pending\n"))
}

func TestFlowGraph_InvalidFlowFileGivesFieldPaths(t *testing.T) {
	file := writeNode(t, `{"nodes": [{"id": "a", "node": {"request": {"url": "https://x.example"}}},
		{"id": "b", "needs": ["zz"], "node": {"request": {"url": "https://x.example"}}}]}`)
	code, stdout, stderr := graph(t, file)
	require.Equal(t, exitInvalid, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, `nodes[1].needs[0]: "zz" is not the id of a node of this flow`)

	code, _, stderr = graph(t, "--direction", "BT", "../examples/flow-fan-out.json")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, `--direction: "BT" is not a direction (use TD or LR)`)
}

func TestFlowGraph_FanOutExample(t *testing.T) {
	code, stdout, stderr := graph(t, "../examples/flow-fan-out.json")
	require.Equal(t, exitOK, code, stderr)
	require.True(t, strings.HasPrefix(stdout, "flowchart TD\n    n_eu[\"eu<br/>POST 127.0.0.1:8081/jobs\"]\n"), stdout)
	require.Equal(t, []string{"n_eu --> n_merge", "n_us --> n_merge", "n_apac --> n_merge"}, edges(stdout))
	require.NotContains(t, stdout, "class")

	code, lr, _ := graph(t, "--direction", "LR", "../examples/flow-fan-out.json")
	require.Equal(t, exitOK, code)
	require.Equal(t, strings.Replace(stdout, "TD", "LR", 1), lr)
}

// A run's nodes are coloured by its progress while it runs, and by its
// result once it ended: succeeded, failed, skipped, then cancelled.
func TestFlowGraph_ColoursTheNodesOfARun(t *testing.T) {
	temporalFlags := []string{"--address", server.GetFrontendHostPort(), "--namespace", server.GetDefaultNamespace()}
	job := func(body string) string {
		return fmt.Sprintf(`{"request": {"method": "POST", "url": %q, "body": %s}, "callback": {"url": %q, "interval": "1s"}, "retry": {"count": 0}}`,
			jobsURL+"/jobs", body, jobsURL+"/status")
	}
	t.Run("ended", func(t *testing.T) {
		file := writeNode(t, `{"name": "graph-ended", "onFailure": "continue", "nodes": [
			{"id": "ok", "node": `+job(`{"polls": 1}`)+`},
			{"id": "bad", "node": `+job(`{"polls": 1, "outcome": "FAILED"}`)+`},
			{"id": "never", "needs": ["ok"], "when": "nodes.ok.status == 'FAILED'", "node": `+job(`{}`)+`},
			{"id": "end", "needs": ["ok", "bad"], "node": {"request": {"url": "`+jobsURL+`/healthz"}, "retry": {"count": 0}}}]}`)
		code, _, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--id", "graph-ended", "--progress-every", "200ms", file)...)
		require.Equal(t, exitFailed, code, "the flow is PARTIAL: %s", stderr)
		code, stdout, stderr := graph(t, append(temporalFlags, "--workflow-id", "graph-ended", file)...)
		require.Equal(t, exitOK, code, stderr)
		require.Contains(t, stderr, "flow graph-ended: PARTIAL")
		require.Contains(t, stdout, `    n_bad["bad · FAILED<br/>POST `+strings.TrimPrefix(jobsURL, "http://")+`/jobs"]`)
		for _, want := range []string{"class n_ok succeeded", "class n_bad failed", "class n_never skipped", "class n_end succeeded"} {
			require.Contains(t, stdout, "    "+want+"\n")
		}
	})
	t.Run("failed", func(t *testing.T) {
		file := writeNode(t, `{"name": "graph-failed", "nodes": [
			{"id": "bad", "node": `+job(`{"polls": 1, "outcome": "FAILED"}`)+`},
			{"id": "after", "needs": ["bad"], "node": `+job(`{"polls": 1}`)+`}]}`)
		code, _, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--id", "graph-failed", "--progress-every", "200ms", file)...)
		require.Equal(t, exitFailed, code, stderr)
		code, stdout, stderr := graph(t, append(temporalFlags, "--workflow-id", "graph-failed", file)...)
		require.Equal(t, exitOK, code, stderr)
		require.Contains(t, stderr, "flow graph-failed: FAILED", "the result is read from the failure's details")
		require.Contains(t, stdout, "    class n_bad failed\n    class n_after skipped\n", "after is NOT_RUN")
	})
	t.Run("running, then cancelled", func(t *testing.T) {
		file := writeNode(t, `{"name": "graph-running", "nodes": [
			{"id": "slow", "node": `+job(`{"polls": 1000}`)+`},
			{"id": "after", "needs": ["slow"], "node": `+job(`{"polls": 1}`)+`}]}`)
		code, _, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--id", "graph-running", "--no-wait", file)...)
		require.Equal(t, exitOK, code, stderr)
		var stdout string
		require.Eventually(t, func() bool {
			code, stdout, stderr = graph(t, append(temporalFlags, "--workflow-id", "graph-running", file)...)
			return code == exitOK && strings.Contains(stdout, "class n_slow running")
		}, 20*time.Second, 100*time.Millisecond, "%s\n%s", stdout, stderr)
		require.Contains(t, stdout, "    class n_after pending\n")
		require.Contains(t, stderr, "flow graph-running: RUNNING")

		c := server.GetDefaultClient()
		require.NoError(t, c.CancelWorkflow(context.Background(), "graph-running", ""))
		require.Error(t, c.GetWorkflow(context.Background(), "graph-running", "").Get(context.Background(), nil))
		code, stdout, stderr = graph(t, append(temporalFlags, "--workflow-id", "graph-running", file)...)
		require.Equal(t, exitOK, code, stderr)
		require.Contains(t, stdout, `    n_slow["slow · CANCELLED<br/>`)
		require.Contains(t, stdout, "    class n_slow cancelled\n    class n_after skipped\n", "after is NOT_RUN")
	})
}

// A workflow that is not a flow is refused by name.
func TestFlowGraph_RefusesANodeWorkflow(t *testing.T) {
	wr, err := server.GetDefaultClient().ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "graph-not-a-flow", TaskQueue: taskQueue},
		workflows.HTTPNodeName, json.RawMessage(`{"request": {"url": "`+jobsURL+`/healthz"}, "retry": {"count": 0}}`))
	require.NoError(t, err)
	require.NoError(t, wr.Get(context.Background(), nil))
	code, _, stderr := graph(t, "--address", server.GetFrontendHostPort(), "--namespace", server.GetDefaultNamespace(), "--workflow-id", "graph-not-a-flow", "../examples/flow-fan-out.json")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "graph-not-a-flow is a HTTPNode workflow, not a Flow: only flows are drawn")
}
