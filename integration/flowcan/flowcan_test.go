// Package flowcan runs a flow on a Temporal server that suggests
// continue-as-new after a few dozen events, so that a short flow crosses
// runs as a long one does past Temporal's default suggestion (4,096
// events or 4 MiB): it needs a server of its own.
package flowcan

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

var server *temporaltest.TestServer

// suggestAfter is the history length past which this server suggests
// continue-as-new.
const suggestAfter = 40

func TestMain(m *testing.M) {
	server = temporaltest.NewServer(temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		dynamicconfig.HistoryCountSuggestContinueAsNew.Key():        []dynamicconfig.ConstrainedValue{{Value: suggestAfter}},
	})))
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

// A 12-node chain crosses several runs: every node runs once, the last
// reads the first node's output carried across the runs, and the result
// and the flow's start are those of the whole flow.
func TestFlow_ContinuesAsNewOnARealServer(t *testing.T) {
	c := server.GetDefaultClient()
	var mu sync.Mutex
	hits := map[string]int{}
	var lastQuery string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits[r.URL.Path]++
		if r.URL.Path == "/n11" {
			lastQuery = r.URL.RawQuery
		}
		fmt.Fprintf(w, `{"v": %q}`, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	t.Cleanup(api.Close)
	const n = 12
	var nodes []string
	for i := range n {
		needs, query := "", ""
		if i > 0 {
			needs = fmt.Sprintf(`"needs": ["n%d"], `, i-1)
		}
		if i == n-1 {
			query = `, "query": {"first": "${nodes.n0.outputs.v}"}`
		}
		nodes = append(nodes, fmt.Sprintf(`{"id": "n%d", %s"node": {"request": {"url": "%s/n%d"%s}, "outputs": {"v": "body.v"}, "retry": {"count": 0}}}`, i, needs, api.URL, i, query))
	}
	doc := `{"name": "long", "timeout": "10m", "nodes": [` + strings.Join(nodes, ",") + `]}`

	queue := "flowcan"
	acts := activities.New(testutil.Secrets(nil), testutil.Loopback)
	w, waits := workflows.NewWorkers(c, queue, worker.Options{}, acts, 100)
	require.NoError(t, waits.Start())
	t.Cleanup(waits.Stop)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "flow-can", TaskQueue: queue}, httpnode.FlowWorkflow, json.RawMessage(doc))
	require.NoError(t, err)
	firstID := run.GetRunID()
	var res httpnode.FlowResult
	require.NoError(t, run.Get(ctx, &res)) // Get follows the chain of runs
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Len(t, res.Nodes, n)
	for i := range n {
		require.Equal(t, 1, hits[fmt.Sprintf("/n%d", i)], "node n%d ran once", i)
	}
	require.Equal(t, "first=n0", lastQuery, "the first node's output reached the last across runs")

	// the first run continued as new; the last is another run
	first := c.GetWorkflowHistory(ctx, "flow-can", firstID, false, enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	ev, err := first.Next()
	require.NoError(t, err)
	require.Equal(t, enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, ev.GetEventType())
	last, err := c.DescribeWorkflowExecution(ctx, "flow-can", "")
	require.NoError(t, err)
	require.NotEqual(t, firstID, last.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	require.Less(t, last.GetWorkflowExecutionInfo().GetHistoryLength(), int64(suggestAfter+30), "each run stays near the suggestion")
	firstRun, err := c.DescribeWorkflowExecution(ctx, "flow-can", firstID)
	require.NoError(t, err)
	require.True(t, firstRun.GetWorkflowExecutionInfo().GetStartTime().AsTime().Equal(res.StartTime), "the flow's start is the first run's: %v, %v",
		firstRun.GetWorkflowExecutionInfo().GetStartTime().AsTime(), res.StartTime)
}
