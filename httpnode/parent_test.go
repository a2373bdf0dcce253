package httpnode

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// A failed or cancelled node's or flow's result is read from its error,
// wrapped or not; an error without one gives nil.
func TestResultOf_ReadsTheResultAFailureCarries(t *testing.T) {
	failed := temporal.NewNonRetryableApplicationError("500", ErrHTTPStatus, nil, Result{Status: StatusFailed, Attempts: 2})
	require.Equal(t, 2, ResultOf(fmt.Errorf("child: %w", failed)).Attempts)
	require.Equal(t, StatusCancelled, ResultOf(temporal.NewCanceledError(Result{Status: StatusCancelled})).Status)
	require.Nil(t, ResultOf(errors.New("plain")))
	require.Nil(t, ResultOf(temporal.NewApplicationError("no details", "X")))
	flow := temporal.NewNonRetryableApplicationError("node a failed", ErrHTTPStatus, nil, FlowResult{Status: StatusFailed, Nodes: []FlowNodeResult{{ID: "a"}}})
	require.Equal(t, "a", FlowResultOf(flow).Nodes[0].ID)
	require.Nil(t, FlowResultOf(nil))
}

func TestJSONBodyAndRetries(t *testing.T) {
	require.JSONEq(t, `{"day": "2026-12-02", "rows": 3}`, string(JSONBody(map[string]any{"day": "2026-12-02", "rows": 3})))
	require.Equal(t, "null", string(JSONBody(func() {})))
	n := Node{Request: Request{Method: "POST", URL: "https://x.example", Body: JSONBody(struct {
		ID int `json:"id"`
	}{7})}, Retry: Retries(0)}
	require.NoError(t, n.Validate())
	require.Equal(t, 0, *n.WithDefaults().Retry.Count, "no retry, not the default one")
	require.Equal(t, `{"id":7}`, string(n.Request.Body))
}
