// Package integration runs HTTP nodes end to end: a real Temporal server in
// process (temporaltest), the real worker registration, and real HTTP
// services on loopback.
package integration

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/internal/logging"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

// server is the one Temporal server of this package.
var server *temporaltest.TestServer

func TestMain(m *testing.M) {
	server = temporaltest.NewServer()
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

const jobToken = "job-token-5ecret"

// nodeSecrets are the worker's node secrets in these tests, bound to loopback.
var nodeSecrets = testutil.Secrets(map[string]string{"JOB_TOKEN": jobToken})

// fixture is a job service on loopback and a task queue of the test's own.
type fixture struct {
	c         client.Client
	taskQueue string
	jobs      *jobservice.Service
	url       string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	jobs := jobservice.New()
	jobs.Token = jobToken
	srv := httptest.NewServer(jobs.Handler())
	t.Cleanup(srv.Close)
	return &fixture{c: server.GetDefaultClient(), taskQueue: "it-" + t.Name(), jobs: jobs, url: srv.URL}
}

func (f *fixture) startWorker(t testing.TB) worker.Worker {
	t.Helper()
	return f.startWorkers(t, worker.Options{})
}

// startWorkers starts the fixture's workers as the worker process does:
// the node's and its activity-mode waits' (stopped with the test); it
// returns the node's. configure, if given, sets the activities up.
func (f *fixture) startWorkers(t testing.TB, opts worker.Options, configure ...func(*activities.Activities)) worker.Worker {
	t.Helper()
	acts := activities.New(nodeSecrets, testutil.Loopback)
	for _, c := range configure {
		c(acts)
	}
	w, waits := workflows.NewWorkers(f.c, f.taskQueue, opts, acts, 1000)
	require.NoError(t, waits.Start())
	t.Cleanup(waits.Stop)
	require.NoError(t, w.Start())
	return w
}

// loggedWorker starts a worker of acts on the fixture's queue whose logs
// (the SDK's, the workflows' and the activities') go to the buffer
// returned; c is its client.
func (f *fixture) loggedWorker(t *testing.T, acts *activities.Activities) (c client.Client, logs *testutil.SyncBuffer) {
	t.Helper()
	logs = &testutil.SyncBuffer{}
	c = server.NewClientWithOptions(client.Options{Logger: logging.SDK{L: zerolog.New(logs)}})
	w := worker.New(c, f.taskQueue, worker.Options{})
	workflows.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return c, logs
}

// node is the async-job scenario against the fixture's job service.
func (f *fixture) node(jobBody string) json.RawMessage {
	auth := `{"type": "bearer", "token": "${secret.JOB_TOKEN}"}`
	return json.RawMessage(`{
		"name": "export",
		"request": {"method": "POST", "url": "` + f.url + `/jobs", "auth": ` + auth + `, "body": ` + jobBody + `,
			"headers": {"X-Node": "${nodeName}", "X-Attempt": "${attempt}"}},
		"callback": {"url": "` + f.url + `/status", "interval": "1s", "auth": ` + auth + `},
		"retry": {"count": 0}
	}`)
}

// withFields sets the top-level fields of extra (a JSON object) in node.
func withFields(t *testing.T, node json.RawMessage, extra string) json.RawMessage {
	t.Helper()
	var n, e map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(node, &n))
	require.NoError(t, json.Unmarshal([]byte(extra), &e))
	for k, v := range e {
		n[k] = v
	}
	b, err := json.Marshal(n)
	require.NoError(t, err)
	return b
}

func (f *fixture) start(t *testing.T, node json.RawMessage) client.WorkflowRun {
	t.Helper()
	return f.startNamed(t, "", node)
}

// startNamed starts node under the test's workflow id with suffix.
func (f *fixture) startNamed(t *testing.T, suffix string, node json.RawMessage) client.WorkflowRun {
	t.Helper()
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: "node-" + t.Name() + suffix, TaskQueue: f.taskQueue, WorkflowExecutionTimeout: 2 * time.Minute,
	}, workflows.HTTPNodeName, node)
	require.NoError(t, err)
	return run
}

func (f *fixture) history(t testing.TB, run client.WorkflowRun) *historypb.History {
	t.Helper()
	it := f.c.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	return h
}

// payloadText is every payload in a history, decoded, plus the rest of the
// history as text: what an operator can read in Temporal Web.
func payloadText(h *historypb.History) string {
	var b strings.Builder
	walkHistory(h, func(p *commonpb.Payload) {
		b.Write(p.GetData())
		b.WriteByte('\n')
	}, func(s string) {
		b.WriteString(s)
		b.WriteByte('\n')
	})
	return b.String()
}

// payloadsOf collects every payload of a history.
func payloadsOf(h *historypb.History) []*commonpb.Payload {
	var out []*commonpb.Payload
	walkHistory(h, func(p *commonpb.Payload) { out = append(out, p) }, func(string) {})
	return out
}

// walkHistory calls payload for every payload of h and str for every other
// string field.
func walkHistory(h *historypb.History, payload func(*commonpb.Payload), str func(string)) {
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			payload(p)
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := range v.List().Len() {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { walk(mv.Message()); return true })
			case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
				walk(v.Message())
			case fd.Kind() == protoreflect.StringKind && !fd.IsList() && !fd.IsMap():
				str(v.String())
			}
			return true
		})
	}
	walk(proto.Clone(h).ProtoReflect())
}

func resultOf(t *testing.T, run client.WorkflowRun) httpnode.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res httpnode.Result
	require.NoError(t, run.Get(ctx, &res))
	return res
}
