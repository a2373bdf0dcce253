package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

// The flow examples run as the README runs them: starter run of the flow
// file against a worker and the demo job service.
func TestExamples_FlowsRunAsDocumented(t *testing.T) {
	outputs := func(t *testing.T, n *httpnode.FlowNodeResult, name string) any {
		t.Helper()
		require.NotNil(t, n)
		var v any
		require.NoError(t, n.Output(name, &v))
		return v
	}
	cases := []struct {
		file, status string
		check        func(t *testing.T, res httpnode.FlowResult)
	}{
		{"flow-export.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.FlowResult) {
			job := outputs(t, res.Node("submit"), "jobId")
			require.Equal(t, "SUCCESS", outputs(t, res.Node("wait"), "status"))
			require.Equal(t, job, res.Node("wait").TaskID, "the wait polled the submitted job")
			require.NotEmpty(t, outputs(t, res.Node("load"), "importId"))
		}},
		{"flow-fan-out.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.FlowResult) {
			require.EqualValues(t, 3, outputs(t, res.Node("merge"), "merged"), "every job's id reached the fan-in")
		}},
		{"flow-continue.json", httpnode.StatusPartial, func(t *testing.T, res httpnode.FlowResult) {
			require.Equal(t, httpnode.StatusFailed, res.Node("bad").Status)
			report := res.Node("report")
			require.Equal(t, httpnode.StatusSucceeded, report.Status, "the report ran despite the failure")
			require.Equal(t, []string{"request.headers.X-Bad-Task", "request.body.bad"}, report.SkippedFields)
			require.Equal(t, map[string]any{"good": outputs(t, res.Node("good"), "jobId"), "badStatus": "FAILED"}, outputs(t, report, "received"),
				"the fields that use the bad job's data were left out; the others went through")
		}},
		{"flow-when.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.FlowResult) {
			rows := outputs(t, res.Node("count"), "rows")
			require.Equal(t, rows, outputs(t, res.Node("big"), "rows"), "the count went on as a number")
			require.Equal(t, httpnode.StatusSkipped, res.Node("small").Status)
			require.Contains(t, res.Node("small").Reason, "is false")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("..", "examples", tc.file))
			require.NoError(t, err)
			file := writeNode(t, strings.ReplaceAll(string(b), "http://127.0.0.1:8081", jobsURL))
			code, stdout, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--progress-every", "200ms", file)...)
			var res httpnode.FlowResult
			require.NoError(t, json.Unmarshal([]byte(stdout), &res), "%s\n%s", stdout, stderr)
			require.Equal(t, tc.status, res.Status, stderr)
			require.Equal(t, tc.status == httpnode.StatusSucceeded, code == exitOK)
			require.Contains(t, stderr, "started Flow (workflow id ")
			for _, n := range res.Nodes {
				require.Contains(t, stderr, "node "+n.ID+" · "+n.Status, "each node's end is printed")
			}
			tc.check(t, res)
		})
	}
}

// A flow with problems is refused with every problem named by its path,
// before anything starts.
func TestStarterValidate_Flow(t *testing.T) {
	file := writeNode(t, `{"nodes": [
		{"id": "a", "needs": ["c"], "node": {"request": {"url": "https://x.example/${nodes.b.outputs.url}"}}},
		{"id": "b", "needs": ["a"], "node": {"request": {"url": "https://x.example"}}},
		{"id": "c", "needs": ["b"], "when": "nodes.b.status ==", "node": {"request": {"url": "https://x.example"}}},
		{"id": "d", "needs": ["zz"], "node": {"request": {"url": "https://x.example"}}},
		{"id": "d", "node": {"request": {}}}]}`)
	code, _, stderr := starter(t, "validate", file)
	require.Equal(t, exitInvalid, code)
	for _, want := range []string{
		`nodes[0].needs: the nodes need each other in a cycle: a → c → b → a`,
		`nodes[3].needs[0]: "zz" is not the id of a node of this flow`,
		`nodes[4].id: "d" is the id of nodes[3] too (ids must be unique)`,
	} {
		require.Contains(t, stderr, want)
	}
	file = writeNode(t, `{"nodes": [
		{"id": "a", "node": {"request": {"url": "https://x.example"}}},
		{"id": "b", "node": {"request": {"url": "https://x.example/${nodes.a.outputs.url}"}}},
		{"id": "c", "needs": ["a"], "when": "nodes.b.status == 'x'", "node": {"request": {}}}]}`)
	code, _, stderr = starter(t, "validate", file)
	require.Equal(t, exitInvalid, code)
	for _, want := range []string{
		`nodes[1].node.request.url: ${nodes.a.outputs.url}: node "a" is not upstream of this node, so its result is not known when this node starts (add "a" to needs)`,
		`nodes[2].node.request.url: is required`,
		`nodes[2].when: "nodes.b.status == 'x'" reads node "b", which is not upstream of this node (add it to needs)`,
	} {
		require.Contains(t, stderr, want)
	}
	// expressions are compiled once the flow decodes
	file = writeNode(t, `{"nodes": [{"id": "a", "node": {"request": {"url": "https://x.example"}}},
		{"id": "c", "needs": ["a"], "when": "nodes.a.status ==", "node": {"request": {"url": "https://x.example", "successWhen": "body.x +"}}}]}`)
	code, _, stderr = starter(t, "validate", file)
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, `nodes[1].when: "nodes.a.status ==": Syntax error`)
	require.Contains(t, stderr, `nodes[1].node.request.successWhen: "body.x +"`)
}
