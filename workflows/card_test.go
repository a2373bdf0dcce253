package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

// The node's card: a row per thing known, nothing else.
func TestProgress_Card(t *testing.T) {
	next := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	retry := Progress{Phase: PhaseRetryWait, Attempt: 1, NextTryTime: &next, LastError: &httpnode.Error{Type: httpnode.ErrHTTPStatus, Message: "503 | busy"}}
	require.Equal(t, "**export** · retry-wait · attempt 1 of 3\n\n| | |\n|---|---|\n"+
		"| next try | 2026-12-02T15:00:00Z |\n| last error | HTTPStatus: 503 \\| busy |\n", retry.card("export", 3))
	since := next.Add(-time.Hour)
	stuck := Progress{Phase: PhaseWaiting, Attempt: 2, Polls: 40, LastStatus: "PROCESSING", TaskID: "t-1", NextPollTime: &next, Stuck: true, StatusSince: &since}
	require.Equal(t, "**node** · waiting · attempt 2 of 2\n\n| | |\n|---|---|\n"+
		"| task | t-1 |\n| polls | 40 · last remote status PROCESSING |\n| next poll | 2026-12-02T15:00:00Z |\n"+
		"| stuck | the remote status has not changed since 2026-12-02T14:00:00Z |\n", stuck.card("", 2))
}
