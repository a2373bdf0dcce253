package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Histories recorded from real runs (see integration, HTTPNODE_RECORD_HISTORY)
// must replay without non-determinism: a change to the order of commands
// needs workflow.GetVersion and a new recorded history. They replay under
// their own workflow and run ids, which the node's idempotency and callback
// keys are derived from.
func TestHTTPNode_ReplaysRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			file, err := os.Open(f)
			require.NoError(t, err)
			defer file.Close()
			hist, err := client.HistoryFromJSON(file, client.HistoryJSONOptions{})
			require.NoError(t, err)
			started := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(HTTPNode, workflow.RegisterOptions{Name: HTTPNodeName})
			r.RegisterWorkflowWithOptions(Flow, workflow.RegisterOptions{Name: FlowName})
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: started.GetWorkflowId(), RunID: started.GetOriginalExecutionRunId()},
			}))
		})
	}
}
