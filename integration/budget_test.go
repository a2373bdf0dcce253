package integration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/workflows"
)

// runNode starts node on the fixture's queue and returns its result and
// history, failing the test if it does not end within a minute.
func runNode(t *testing.T, f *fixture, id string, node json.RawMessage) (httpnode.Result, client.WorkflowRun) {
	t.Helper()
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: f.taskQueue, WorkflowExecutionTimeout: 2 * time.Minute}, workflows.HTTPNodeName, node)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res httpnode.Result
	err = run.Get(ctx, &res)
	require.NoError(t, err, "the node ended (it did not wedge); its workflow tasks failed with: %v", taskFailures(t, f, run))
	return res, run
}

// taskFailures are the messages of the run's failed workflow tasks.
func taskFailures(t *testing.T, f *fixture, run client.WorkflowRun) []string {
	var out []string
	for _, e := range f.history(t, run).GetEvents() {
		if a := e.GetWorkflowTaskFailedEventAttributes(); a != nil {
			out = append(out, a.GetFailure().GetMessage())
		}
	}
	return out
}

// requirePayloadsWithin checks every payload of the run's history against
// the node's budget (measured after encoding, as the server sees them).
func requirePayloadsWithin(t *testing.T, f *fixture, run client.WorkflowRun) {
	t.Helper()
	for _, p := range payloadsOf(f.history(t, run)) {
		require.LessOrEqual(t, len(p.GetData()), httpnode.PayloadBudget)
	}
}

// Responses near the body cap that grow when embedded (escaping-heavy
// text, binary, JSON full of escapes, many large headers) never make a
// payload Temporal refuses: bodies are cut to the budget, flagged, and the
// node ends as it should, its timeout included.
func TestHTTPNode_LargeResponsesFitThePayloadBudget(t *testing.T) {
	// each just under the largest maxResponseBytes (1 MiB): two of them, or
	// one escaped, are over Temporal's 2 MiB payload limit
	escapedQuotes := strings.Repeat(`\"`, (1<<20-64)/2) // JSON string escapes
	quotes := strings.Repeat(`"`, 1<<20)                // text that doubles as a JSON string
	binary := make([]byte, 1<<20)
	_, _ = rand.Read(binary)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jobs":
			fmt.Fprintf(w, `{"taskId": "t1", "pad": "%s"}`, escapedQuotes)
		case "/status/t1":
			fmt.Fprintf(w, `{"status": "SUCCESS", "pad": "%s"}`, escapedQuotes)
		case "/async":
			w.Header().Set("Location", "/operations/1")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, quotes)
		case "/operations/1":
			w.WriteHeader(http.StatusAccepted) // pending for ever
		case "/binary":
			for i := range 60 {
				w.Header().Set("X-Large-"+strconv.Itoa(i), strings.Repeat("h", 1000))
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(binary)
		}
	}))
	defer srv.Close()
	f := newFixture(t)
	defer f.startWorker(t).Stop()
	const cap = `"maxResponseBytes": 1048576`

	t.Run("two JSON bodies of escapes", func(t *testing.T) {
		res, run := runNode(t, f, "budget-json", json.RawMessage(`{"request": {"method": "POST", "url": "`+srv.URL+`/jobs", `+cap+`},
			"callback": {"url": "`+srv.URL+`/status", "interval": "1s", `+cap+`}, "retry": {"count": 0}}`))
		require.Equal(t, httpnode.StatusSucceeded, res.Status)
		require.NotEqual(t, res.Response.Truncated, res.CallbackResponse.Truncated, "each fits an activity's result as JSON; together they do not fit the node's, so one is cut")
		cut := res.Response
		if !cut.Truncated {
			cut = res.CallbackResponse
		}
		require.Equal(t, httpnode.CutByBudget, cut.TruncatedBy)
		requirePayloadsWithin(t, f, run)
	})
	t.Run("escaping-heavy text, and the node timeout fires", func(t *testing.T) {
		start := time.Now()
		res, run := runNode(t, f, "budget-text", json.RawMessage(`{"request": {"method": "POST", "url": "`+srv.URL+`/async", `+cap+`},
			"callback": {"mode": "location", "interval": "1s"}, "timeout": "4s", "onFailure": "continue", "retry": {"count": 0}}`))
		require.Equal(t, httpnode.StatusTimedOut, res.Status)
		require.Less(t, time.Since(start), 30*time.Second)
		require.True(t, res.Response.Truncated)
		require.Equal(t, httpnode.CutByBudget, res.Response.TruncatedBy)
		require.Equal(t, 202, res.Response.StatusCode)
		requirePayloadsWithin(t, f, run)
	})
	t.Run("binary with many large headers", func(t *testing.T) {
		res, run := runNode(t, f, "budget-binary", json.RawMessage(`{"request": {"url": "`+srv.URL+`/binary", `+cap+`}, "retry": {"count": 0}}`))
		require.Equal(t, httpnode.StatusSucceeded, res.Status)
		require.Equal(t, "base64", res.Response.BodyEncoding)
		require.Len(t, res.Response.Headers["X-Large-59"], 1000)
		requirePayloadsWithin(t, f, run)
	})
}
