package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

// With the HttpNodeStuck search attribute defined, a stuck node can be found
// by a visibility query, and still finishes normally.
func TestHTTPNode_StuckNodeIsFindable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ns := server.GetDefaultNamespace()
	_, err := f.c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ns, SearchAttributes: map[string]enumspb.IndexedValueType{activities.StuckSearchAttribute: enumspb.INDEXED_VALUE_TYPE_BOOL},
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return activities.HasStuckAttribute(ctx, f.c, ns) }, 10*time.Second, 50*time.Millisecond)

	acts := activities.New(nodeSecrets, testutil.Loopback)
	acts.StuckAttribute = activities.HasStuckAttribute(ctx, f.c, ns)
	w := worker.New(f.c, f.taskQueue, worker.Options{})
	workflows.Register(w, acts)
	require.NoError(t, w.Start())
	defer w.Stop()

	node := f.node(`{"polls": 4}`)
	node = withFields(t, node, `{"callback": {"url": "`+f.url+`/status", "interval": "1s", "stuckAfterPolls": 2,
		"auth": {"type": "bearer", "token": "${secret.JOB_TOKEN}"}}}`)
	run := f.start(t, node)
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.True(t, res.Stuck)
	require.Eventually(t, func() bool {
		resp, err := f.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, Query: activities.StuckSearchAttribute + " = true"})
		for _, e := range resp.GetExecutions() { // earlier runs of this test (-count) may be listed too
			if err == nil && e.GetExecution().GetRunId() == run.GetRunID() {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "the stuck node is found by its search attribute")
}
