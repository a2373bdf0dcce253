package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/httpnode/httpnode/httpnode"
)

// hits is a loopback API that counts the requests to each path and keeps
// the last body sent to it; /b fails until fixed.
type hits struct {
	mu    sync.Mutex
	n     map[string]int
	body  map[string]string
	fixed bool
	srv   *httptest.Server
}

func newHits(t *testing.T) *hits {
	h := &hits{n: map[string]int{}, body: map[string]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.n[r.URL.Path]++
		h.body[r.URL.Path] = string(b)
		if r.URL.Path == "/b" && !h.fixed {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"v": "%s-%d"}`, strings.TrimPrefix(r.URL.Path, "/"), h.n[r.URL.Path])
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hits) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return map[string]int{"/a": h.n["/a"], "/b": h.n["/b"], "/c": h.n["/c"], "/d": h.n["/d"]}
}

// A rerun from the failed node reuses the results of the nodes that are
// not downstream of it (no request is sent for them again), runs the node
// and its descendants, and links to the run it reran.
func TestFlowRerun_ReusesUpstreamResults(t *testing.T) {
	api := newHits(t)
	node := func(path, body string) string {
		return fmt.Sprintf(`{"request": {"method": "POST", "url": "%s%s", "body": %s}, "outputs": {"v": "body.v"}, "retry": {"count": 0}}`, api.srv.URL, path, body)
	}
	// maxParallel 1 and the document's order: a, d, then b fails, c is not run
	flow := writeNode(t, `{"name": "rerun-demo", "maxParallel": 1, "nodes": [
		{"id": "a", "node": `+node("/a", `{}`)+`},
		{"id": "d", "node": `+node("/d", `{}`)+`},
		{"id": "b", "needs": ["a"], "node": `+node("/b", `{"a": "${nodes.a.outputs.v}"}`)+`},
		{"id": "c", "needs": ["b"], "node": `+node("/c", `{"a": "${nodes.a.outputs.v}", "b": "${nodes.b.outputs.v}"}`)+`}]}`)
	oldID := "rerun-test-flow"
	code, stdout, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--id", oldID, "--progress-every", "200ms", flow)...)
	require.Equal(t, exitFailed, code, stderr)
	var first httpnode.FlowResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &first), stdout)
	require.Equal(t, httpnode.StatusFailed, first.Status)
	require.Equal(t, httpnode.StatusNotRun, first.Node("c").Status)
	require.Equal(t, map[string]int{"/a": 1, "/b": 1, "/c": 0, "/d": 1}, api.counts())

	// bad input: a node that is not in the flow, and a flow that is not there
	code, _, stderr = starter(t, append(append([]string{"flow", "rerun"}, serverFlags()...), "--from", "zz", oldID)...)
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, `--from "zz" is not a node of the flow (its nodes: a, d, b, c)`)
	code, _, stderr = starter(t, append(append([]string{"flow", "rerun"}, serverFlags()...), "--from", "b", "no-such-flow")...)
	require.Equal(t, exitFailed, code)
	require.Contains(t, stderr, "cannot find the flow no-such-flow")

	api.mu.Lock()
	api.fixed = true
	api.mu.Unlock()
	newID := oldID + "-again"
	code, stdout, stderr = starter(t, append(append([]string{"flow", "rerun"}, serverFlags()...), "--from", "b", "--id", newID, "--progress-every", "200ms", oldID)...)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stderr, "from b: reusing 2 node(s): a, d")
	require.Contains(t, stderr, "node a · SUCCEEDED · reused from "+oldID+"/a")
	require.Contains(t, stderr, "| a | SUCCEEDED (reused) | 1 |", "the table ends the run")
	var res httpnode.FlowResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, map[string]int{"/a": 1, "/b": 2, "/c": 1, "/d": 1}, api.counts(), "no request went again to the reused nodes")
	for _, id := range []string{"a", "d"} {
		n := res.Node(id)
		require.True(t, n.Reused, id)
		require.Equal(t, oldID+"/"+id, n.WorkflowID, "a reused node links to the child that ran it")
		var v string
		require.NoError(t, n.Output("v", &v))
		require.Equal(t, id+"-1", v)
	}
	require.False(t, res.Node("b").Reused)
	require.Equal(t, newID+"/b", res.Node("b").WorkflowID)
	require.JSONEq(t, `{"a": "a-1", "b": "b-2"}`, api.body["/c"], "the rerun node read the reused node's output")
	require.Equal(t, oldID, res.RerunOf.WorkflowID)
	require.Equal(t, first.Nodes[0].WorkflowID, oldID+"/a")
	require.Equal(t, "b", res.From)

	desc, err := server.GetDefaultClient().DescribeWorkflowExecution(context.Background(), newID, "")
	require.NoError(t, err)
	var of string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(desc.GetWorkflowExecutionInfo().GetMemo().GetFields()["rerunOf"], &of))
	require.True(t, strings.HasPrefix(of, oldID+"/"), of)
	var summary string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(desc.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary))
	require.Equal(t, "flow rerun-demo · rerun of "+oldID+" from b · 2 nodes reused", summary)

	// a rerun of the rerun from c reuses a, d (recorded in the first run) and b
	code, stdout, stderr = starter(t, append(append([]string{"flow", "rerun"}, serverFlags()...), "--from", "c", "--progress-every", "200ms", newID)...)
	require.Equal(t, exitOK, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.Equal(t, oldID+"/a", res.Node("a").WorkflowID)
	require.Equal(t, newID+"/b", res.Node("b").WorkflowID)
	require.Equal(t, map[string]int{"/a": 1, "/b": 2, "/c": 2, "/d": 1}, api.counts())
}

func TestRerunID_DropsAnEarlierRerunsSuffix(t *testing.T) {
	id := rerunID("nightly")
	require.Regexp(t, `^nightly-rerun-[0-9a-f]{8}$`, id)
	require.Regexp(t, `^nightly-rerun-[0-9a-f]{8}$`, rerunID(id))
}
