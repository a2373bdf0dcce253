package workflows

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/testutil"
)

// A 503 is retried by the activity's retry policy with the same idempotency
// key, and the retry carries X-Http-Task-Guid.
func TestHTTPNode_TransientFailureRetriedWithSameKey(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Clone())
		if len(got) < 3 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer srv.Close()

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(HTTPNode, workflow.RegisterOptions{Name: HTTPNodeName})
	env.RegisterActivity(activities.New(nil, testutil.Loopback))
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"method": "POST", "url": "`+srv.URL+`/jobs"}}`))
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 1, res.Attempts, "transient failures are retried inside the attempt")
	require.Len(t, got, 3)
	key := got[0].Get(activities.HeaderIdempotencyKey)
	require.NotEmpty(t, key)
	require.Empty(t, got[0].Get(activities.HeaderTaskGUID))
	for _, h := range got[1:] {
		require.Equal(t, key, h.Get(activities.HeaderIdempotencyKey))
		require.Equal(t, key, h.Get(activities.HeaderTaskGUID))
	}
	require.Equal(t, key, res.Request.Headers[activities.HeaderIdempotencyKey])
}
