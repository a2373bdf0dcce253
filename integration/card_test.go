package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
)

// currentDetails are a workflow's current details, as Temporal Web reads
// them (the metadata query).
func currentDetails(t *testing.T, f *fixture, id, runID string) string {
	t.Helper()
	v, err := f.c.QueryWorkflow(context.Background(), id, runID, "__temporal_workflow_metadata")
	require.NoError(t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&meta))
	return meta.GetCurrentDetails()
}

// staticSummary is a workflow's static summary.
func staticSummary(t *testing.T, f *fixture, id string) string {
	t.Helper()
	desc, err := f.c.DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(t, err)
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(desc.GetExecutionConfig().GetUserMetadata().GetSummary(), &s))
	return s
}

// A polling node's card in Temporal Web follows it: waiting with its task
// and polls so far, then its end.
func TestHTTPNode_CurrentDetailsFollowThePolls(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	run := f.start(t, f.node(`{"polls": 3}`))
	var waiting string
	require.Eventually(t, func() bool {
		waiting = currentDetails(t, f, run.GetID(), "")
		return waiting != "" && containsAll(waiting, "**export** · waiting · attempt 1 of 1", "| polls | 1 · last remote status PROCESSING |", "| next poll | ")
	}, 30*time.Second, 20*time.Millisecond, "the card while waiting")
	require.Contains(t, waiting, "| task | job-")
	endResult(t, run)
	done := currentDetails(t, f, run.GetID(), run.GetRunID())
	require.Contains(t, done, "**export** · SUCCEEDED · attempt 1 of 1")
	require.Contains(t, done, "last remote status SUCCESS")
	require.NotContains(t, done, "| next poll |")
	require.NotContains(t, waiting+done, jobToken)
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
