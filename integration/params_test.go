package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

// A node started by a real Temporal Schedule renders its time macros from
// the schedule's time, not from when the workflow ran.
func TestHTTPNode_ScheduleRendersFromScheduledTime(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer srv.Close()
	f := newFixture(t)
	w := worker.New(f.c, f.taskQueue, worker.Options{})
	acts := activities.New(nodeSecrets, testutil.Loopback)
	acts.Params = map[string]string{"region": "eu"}
	workflows.Register(w, acts)
	require.NoError(t, w.Start())
	defer w.Stop()

	node := httpnode.Node{Name: "daily", TimeZone: "UTC", Request: httpnode.Request{URL: srv.URL + "/export",
		Query: map[string]string{"day": "${yyyyMMdd-1d}", "at": "${yyyy-MM-dd HH:mm}", "region": "${region}", "node": "${nodeName}"}}}
	sc := f.c.ScheduleClient()
	h, err := sc.Create(context.Background(), client.ScheduleOptions{
		ID:     "sched-" + t.Name(),
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: "scheduled-node", Workflow: workflows.HTTPNodeName, Args: []any{node}, TaskQueue: f.taskQueue},
		Paused: true,
	})
	require.NoError(t, err)
	defer func() { _ = h.Delete(context.Background()) }()
	// A backfill starts the run of 2026-03-01 10:00 UTC now.
	scheduled := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, h.Backfill(context.Background(), client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{
		Start: scheduled.Add(-30 * time.Minute), End: scheduled.Add(30 * time.Minute), Overlap: 1, /* skip */
	}}}))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(queries) > 0 }, 30*time.Second, 20*time.Millisecond)
	mu.Lock()
	q := queries[0]
	mu.Unlock()
	require.Equal(t, "at=2026-03-01+10%3A00&day=20260228&node=daily&region=eu", q)
}

// A canary secret sent as basic auth, bearer token and API key, echoed back
// by the remote in bodies and headers, through a success with retries and a
// failure: neither it nor its base64 forms reach history, results or logs.
func TestHTTPNode_CanarySecretNeverLeaks(t *testing.T) {
	const canary = "canary-7f3a9c1e"
	basic := base64.StdEncoding.EncodeToString([]byte("svc:" + canary))
	b64 := base64.StdEncoding.EncodeToString([]byte(canary))
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		n := calls[r.URL.Path]
		mu.Unlock()
		echo := r.Header.Get("Authorization") + " " + r.URL.Query().Get("key") + " " + b64
		w.Header().Set("X-Echo", echo)
		w.Header().Set("Set-Cookie", "session="+canary)
		switch {
		case strings.HasPrefix(r.URL.Path, "/jobs") && n == 1:
			w.WriteHeader(http.StatusServiceUnavailable) // retried by the activity
			fmt.Fprintf(w, `{"error": "busy", "echo": %q}`, echo)
		case strings.HasPrefix(r.URL.Path, "/jobs"):
			fmt.Fprintf(w, `{"taskId": "t-%s", "echo": %q}`, strings.TrimPrefix(r.URL.Path, "/jobs/"), echo)
		case r.URL.Path == "/status/t-ok":
			fmt.Fprintf(w, `{"status": "SUCCESS", "echo": %q}`, echo)
		default:
			fmt.Fprintf(w, `{"status": "FAILED", "reason": "bad key %s", "echo": %q}`, canary, echo)
		}
	}))
	defer srv.Close()

	f := newFixture(t)
	c, logs := f.loggedWorker(t, activities.New(testutil.Secrets(map[string]string{"CANARY": canary}), testutil.Loopback))

	var everything strings.Builder
	for _, outcome := range []string{"ok", "fail"} {
		node := json.RawMessage(`{"name": "canary-` + outcome + `",
			"request": {"method": "POST", "url": "` + srv.URL + `/jobs/` + outcome + `",
				"auth": {"type": "basic", "username": "svc", "password": "${secret.CANARY}"}},
			"callback": {"url": "` + srv.URL + `/status", "interval": "1s",
				"auth": {"type": "apiKey", "key": "${secret.CANARY}", "name": "key", "in": "query"},
				"headers": {"X-Token": "Bearer ${secret.CANARY}"}},
			"retry": {"count": 1, "interval": "1s"}, "onFailure": "continue"}`)
		run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "canary-" + outcome, TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node)
		require.NoError(t, err)
		var res httpnode.Result
		require.NoError(t, run.Get(context.Background(), &res))
		if outcome == "ok" {
			require.Equal(t, httpnode.StatusSucceeded, res.Status)
		} else {
			require.Equal(t, httpnode.StatusFailed, res.Status)
			require.Equal(t, 2, res.Attempts, "the failure was retried")
			require.Contains(t, res.Error.Message, "bad key ***")
		}
		b, _ := json.Marshal(res)
		everything.Write(b)
		everything.WriteString(payloadText(f.history(t, run)))
	}
	everything.WriteString(logs.String())
	require.Greater(t, calls["/jobs/ok"], 1, "the 503 was retried")
	all := everything.String()
	require.Contains(t, all, "***", "masking happened")
	for _, leak := range []string{canary, b64, basic} {
		require.NotContains(t, all, leak)
	}
}
