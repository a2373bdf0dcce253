package workflows

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/testutil"
)

// realEnv is a test environment running the node with the real
// activities, against services on loopback.
func realEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(HTTPNode, workflow.RegisterOptions{Name: HTTPNodeName})
	env.RegisterActivity(activities.New(nil, testutil.Loopback))
	return env
}

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

	env := realEnv()
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

// The main request's activity heartbeats while the request is in flight,
// under a heartbeat timeout of its own: a try lost with its worker is
// retried within RequestHeartbeatTimeout, not after the request's timeout.
func TestHTTPNode_MainRequestHeartbeatsWhileInFlight(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(4500 * time.Millisecond) // a slow remote: the request is in flight past the first heartbeat
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer srv.Close()
	env := realEnv()
	var mu sync.Mutex
	beats := 0
	var timeout time.Duration
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		timeout = info.HeartbeatTimeout
	})
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		beats++
	})
	env.SetTestTimeout(time.Minute)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"url": "`+srv.URL+`/slow"}}`))
	require.Equal(t, httpnode.StatusSucceeded, result(t, env).Status)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, activities.RequestHeartbeatTimeout, timeout)
	require.Positive(t, beats, "heartbeats while the request is in flight (the SDK sends at most one per 0.8 × the timeout)")
}
