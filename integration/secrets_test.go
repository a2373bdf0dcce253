package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/secrets"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

// counter is a loopback sentinel: it counts every request it receives.
func counter(t *testing.T, addr string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fmt.Fprint(w, `{"taskId": "t1", "status": "SUCCESS"}`)
	}))
	srv.Listener.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

// A canary for every worker key (set among the node secrets too, and bound
// to loopback: the worst an operator could do) and for a secret without a
// binding, referenced from every field of every request kind: no node
// sends anything, each error names the fields, and no value reaches
// history, logs, errors or results.
func TestHTTPNode_WorkerKeysAndUnboundSecretsReachNothing(t *testing.T) {
	canaries := map[string]string{
		"CODEC_KEY_1":      "canary-codec-key-91c2e7",
		"CODEC_TOKEN":      "canary-codec-token-3b8d",
		"CALLBACK_KEY":     "canary-callback-key-5e0f",
		"CALLBACK_SIGNING": "whsec_Y2FuYXJ5LXNpZ25pbmctc2VjcmV0LTc3",
		"UNBOUND":          "canary-unbound-6a4c",
		"UNBOUND_HOSTS":    "", // no binding
		"PASS":             "a-bound-password",
	}
	wantType := map[string]string{"UNBOUND": httpnode.ErrSecretNotBound}
	n := testutil.Secrets(canaries)
	n.Keys = secrets.WorkerKeys{}
	n.Keys.Add(secrets.KeyEncryption, "CODEC_KEY_1")
	n.Keys.Add(secrets.KeyCodecToken, "CODEC_TOKEN")
	n.Keys.Add(secrets.KeyCallback, "CALLBACK_KEY")
	n.Keys.Add(secrets.KeyCallbackSigning, "CALLBACK_SIGNING")
	sentinel, hits := counter(t, "127.0.0.1:0")

	f := newFixture(t)
	c, logs := f.loggedWorker(t, activities.New(n, testutil.Loopback))

	auths := []string{
		`{"type": "bearer", "token": "${secret.%[1]s}"}`,
		`{"type": "basic", "username": "${secret.%[1]s}", "password": "${secret.%[1]s}"}`,
		`{"type": "apiKey", "key": "${secret.%[1]s}", "in": "query"}`,
	}
	authField := []string{"auth.token", "auth.password", "auth.key"}
	type started struct {
		run          client.WorkflowRun
		secret, kind string
		fields       []string
	}
	var runs []started
	for _, name := range []string{"CODEC_KEY_1", "CODEC_TOKEN", "CALLBACK_KEY", "CALLBACK_SIGNING", "UNBOUND"} {
		for _, kind := range []string{"request", "callback", "notify", "cancel"} {
			for i, auth := range auths {
				refs := fmt.Sprintf(`"url": %q, "headers": {"X-A": "v ${secret.%[2]s}"}, "query": {"q": "${secret.%[2]s}"},
					"auth": %[3]s, "sign": {"secrets": ["${secret.%[2]s}"]}, "tls": {"ca": "${secret.%[2]s}"}`,
					sentinel.URL+"/"+kind+"/${taskId}", name, fmt.Sprintf(auth, name))
				if kind == "request" {
					refs = strings.Replace(refs, "/${taskId}", "", 1)
				}
				main := fmt.Sprintf(`"request": {"method": "POST", "url": %q}`, sentinel.URL+"/jobs")
				var node string
				switch kind {
				case "request":
					node = `{"request": {"method": "POST", ` + refs + `}`
				case "callback":
					node = `{` + main + `, "callback": {` + refs + `}`
				case "notify":
					node = `{` + main + `, "notify": {` + refs + `}`
				case "cancel":
					node = `{` + main + `, "cancel": {"method": "DELETE", ` + refs + `}`
				}
				node += `, "retry": {"count": 0}}`
				id := fmt.Sprintf("canary-%s-%s-%d", name, kind, i)
				run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: f.taskQueue}, workflows.HTTPNodeName, json.RawMessage(node))
				require.NoError(t, err, node)
				fields := []string{kind + ".headers.X-A", kind + ".query.q", kind + "." + authField[i], kind + ".sign.secrets[0]", kind + ".tls.ca"}
				runs = append(runs, started{run: run, secret: name, kind: kind, fields: fields})
			}
		}
	}
	var everything strings.Builder
	for _, s := range runs {
		err := s.run.Get(context.Background(), nil)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%s/%s: %v", s.secret, s.kind, err)
		want := wantType[s.secret]
		if want == "" {
			want = httpnode.ErrInvalidNode
		}
		require.Equal(t, want, app.Type(), app.Message())
		for _, field := range s.fields {
			require.Contains(t, app.Message(), field+": secret "+s.secret+" ", "the error names the field")
		}
		var res httpnode.Result
		require.NoError(t, app.Details(&res))
		b, _ := json.Marshal(res)
		everything.Write(b)
		everything.WriteString(app.Message())
		everything.WriteString(payloadText(f.history(t, s.run)))
	}
	everything.WriteString(logs.String())
	require.Zero(t, hits.Load(), "nothing reached the sentinel")
	all := everything.String()
	for name, v := range canaries {
		if v != "" && name != "PASS" {
			require.NotContains(t, all, v, name)
		}
	}
	require.NotContains(t, all, "Y2FuYXJ5LXNpZ25pbmc")
}

// A bound secret goes to its host on the real server, and a node that
// would send it to another host fails before sending anything.
func TestHTTPNode_BoundSecretGoesOnlyToItsHost(t *testing.T) {
	bound, boundHits := counter(t, "127.0.0.1:0")
	other, otherHits := counter(t, "127.0.0.2:0")
	n := testutil.Secrets(map[string]string{"API_TOKEN": "api-token-value", "API_TOKEN_HOSTS": "http://127.0.0.1:*"})
	f := newFixture(t)
	w := worker.New(f.c, f.taskQueue, worker.Options{})
	workflows.Register(w, activities.New(n, testutil.Loopback))
	require.NoError(t, w.Start())
	defer w.Stop()
	node := func(url string) json.RawMessage {
		return json.RawMessage(`{"request": {"url": "` + url + `/x", "auth": {"type": "bearer", "token": "${secret.API_TOKEN}"}}, "retry": {"count": 0}}`)
	}
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "bound-ok", TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node(bound.URL))
	require.NoError(t, err)
	require.Equal(t, httpnode.StatusSucceeded, resultOf(t, run).Status)
	require.EqualValues(t, 1, boundHits.Load())

	run, err = f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "bound-elsewhere", TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node(other.URL))
	require.NoError(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, run.Get(context.Background(), nil), &app)
	require.Equal(t, httpnode.ErrSecretNotBound, app.Type())
	require.Contains(t, app.Message(), "request.auth.token: secret API_TOKEN is not bound to http://127.0.0.2:")
	require.Zero(t, otherHits.Load())
}

// Two nodes started with a second input (which HTTPNode would take as its
// continue-as-new state, with the same idempotency key for both) are both
// refused, and neither sends anything.
func TestHTTPNode_SecondInputIsRefused(t *testing.T) {
	f := newFixture(t)
	defer f.startWorker(t).Stop()
	for i := range 2 {
		run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: fmt.Sprintf("second-input-%d", i), TaskQueue: f.taskQueue},
			workflows.HTTPNodeName, f.node(`{"seconds": 0}`), map[string]any{})
		require.NoError(t, err)
		var app *temporal.ApplicationError
		require.ErrorAs(t, run.Get(context.Background(), nil), &app)
		require.Equal(t, httpnode.ErrInvalidNode, app.Type())
		require.Contains(t, app.Message(), "HTTPNode takes one input, the node")
	}
	require.Zero(t, f.jobs.Submissions())
}
