package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
	"github.com/httpnode/httpnode/internal/callbackurl"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/internal/receiver"
	"github.com/httpnode/httpnode/internal/secrets"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/internal/webhook"
	"github.com/httpnode/httpnode/workflows"
)

var (
	server    *temporaltest.TestServer
	jobs      *jobservice.Service
	jobsURL   string
	taskQueue = "starter-tests"
	bodiesDir string
)

// notifySecret signs the example notifications (HTTPNODE_SECRET_NOTIFY_SECRET).
const notifySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestMain(m *testing.M) {
	server = temporaltest.NewServer()
	jobs = jobservice.New()
	secret, _ := webhook.ParseSecret(notifySecret)
	jobs.NotifySecrets = []webhook.Secret{secret}
	srv := httptest.NewServer(jobs.Handler())
	jobsURL = srv.URL
	// the worker's callback receiver, as worker --dev serves it
	key := []byte("starter-tests-callback-key")
	rcv := httptest.NewServer((&receiver.Receiver{Client: server.GetDefaultClient(), Key: key}).Handler())
	// the secrets of the README's examples, bound as worker --dev binds them
	env := map[string]string{"HTTPNODE_SECRET_NOTIFY_SECRET": notifySecret, "HTTPNODE_SECRET_JOB_TOKEN": "s3cret-demo-token"}
	acts := activities.New(&secrets.Nodes{Default: secrets.Loopback, Store: secrets.Store{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}}, testutil.Loopback)
	acts.Callbacks = &callbackurl.Minter{Base: rcv.URL, Key: key}
	// the worker's body store, as worker --body-store opens it
	bodiesDir, _ = os.MkdirTemp("", "starter-bodies")
	var err error
	if acts.Bodies, err = bodystore.Open(context.Background(), bodiesDir, nil); err != nil {
		panic(err)
	}
	w := worker.New(server.GetDefaultClient(), taskQueue, worker.Options{})
	workflows.Register(w, acts)
	if err := w.Start(); err != nil {
		panic(err)
	}
	code := m.Run()
	w.Stop()
	jobs.Close()
	rcv.Close()
	srv.Close()
	server.Stop()
	_ = os.RemoveAll(bodiesDir)
	os.Exit(code)
}

func writeNode(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node.json")
	require.NoError(t, os.WriteFile(p, []byte(doc), 0o600))
	return p
}

func starter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func serverFlags() []string {
	return []string{"--address", server.GetFrontendHostPort(), "--namespace", server.GetDefaultNamespace(), "--task-queue", taskQueue}
}

func jobNode(body string) string {
	return fmt.Sprintf(`{"name": "starter test", "request": {"method": "POST", "url": %q, "body": %s},
		"callback": {"url": %q, "interval": "1s"}, "retry": {"count": 0}}`, jobsURL+"/jobs", body, jobsURL+"/status")
}

func TestStarterRun_Succeeds(t *testing.T) {
	file := writeNode(t, jobNode(`{"polls": 2}`))
	code, stdout, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--progress-every", "200ms", file)...)
	require.Equal(t, exitOK, code, stderr)
	var res httpnode.Result
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), "stdout is the result JSON: %s", stdout)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, res.Polls)
	require.Contains(t, stderr, "started HTTPNode (workflow id starter-test-")
	require.Contains(t, stderr, "attempt 1 · waiting · task "+res.TaskID, "progress is printed while waiting")
}

// The result is printed as JSON without HTML escaping: "<b>" stays "<b>".
func TestStarterRun_PrintsMarkupAsItIs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<b>a & b</b>") }))
	defer srv.Close()
	file := writeNode(t, fmt.Sprintf(`{"request": {"url": %q}, "retry": {"count": 0}}`, srv.URL))
	code, stdout, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), file)...)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, `"body": "<b>a & b</b>"`)
}

func TestStarterRun_FailedNodeExitsNonZero(t *testing.T) {
	file := writeNode(t, jobNode(`{"polls": 1, "outcome": "FAILED"}`))
	code, stdout, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--id", "starter-failing", file)...)
	require.Equal(t, exitFailed, code)
	var res httpnode.Result
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrCallbackStatus, res.Error.Type)
	require.Contains(t, stderr, `node failed: callback: job `+res.TaskID+` ended with status "FAILED"`)
}

func TestStarterRun_NoWait(t *testing.T) {
	file := writeNode(t, jobNode(`{"polls": 1}`))
	code, stdout, _ := starter(t, append(append([]string{"run"}, serverFlags()...), "--no-wait", "--id", "starter-nowait", file)...)
	require.Equal(t, exitOK, code)
	var ids map[string]string
	require.NoError(t, json.Unmarshal([]byte(stdout), &ids))
	require.Equal(t, "starter-nowait", ids["workflowId"])
	require.NotEmpty(t, ids["runId"])
	var res httpnode.Result
	require.NoError(t, server.GetDefaultClient().GetWorkflow(context.Background(), "starter-nowait", "").Get(context.Background(), &res))
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
}

func TestStarterRun_InvalidNodeIsNotStarted(t *testing.T) {
	file := writeNode(t, `{"request": {"url": "ftp://x"}}`)
	code, _, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), file)...)
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, `request.url: scheme "ftp" is not supported`)
}

func TestStarterRun_Unreachable(t *testing.T) {
	file := writeNode(t, jobNode(`{}`))
	code, _, stderr := starter(t, "run", "--address", "127.0.0.1:1", "--connect-timeout", "1s", file)
	require.Equal(t, exitUnreachable, code)
	require.Contains(t, stderr, "cannot reach Temporal at 127.0.0.1:1")
}

func TestStarterValidate(t *testing.T) {
	code, stdout, _ := starter(t, "validate", writeNode(t, jobNode(`{}`)))
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, ": valid")
	require.Contains(t, stdout, "waits: timer mode")
	for _, c := range []struct{ fields, workerMode, want string }{
		{`"mode": "timer"`, "", "timer mode, a poll every 10s: up to 360 polls an hour, each a timer, a workflow task and 6 history events (2160 events an hour, ≈ 3.53s of server CPU an hour)"},
		{`"mode": "activity"`, "", "activity mode, a poll every 10s inside one activity: no history event per poll, a heartbeat every 10s (360 an hour, ≈ 1.19s of server CPU an hour)"},
		{`"mode": "retry"`, "", "retry mode, a poll every 10s by one activity's retries: up to 360 activity tries an hour (≈ 2.3s of server CPU an hour), no history event per poll"},
		{`"mode": "auto", "interval": "10m"`, "", "retry mode (picked by auto), a poll every 10m0s"},
		{`"mode": "auto"`, "retry", "activity mode (picked by auto), a poll every 10s"},
		{``, "retry", "retry mode (the worker's default, --default-wait-mode retry), a poll every 10s"},
		{``, "auto", "activity mode (picked by auto, the worker's --default-wait-mode), a poll every 10s"},
		{`"maxPolls": 2`, "auto", "timer mode (picked by auto, the worker's --default-wait-mode), a poll every 10s"},
	} {
		node := `{"request": {"method": "POST", "url": "http://127.0.0.1:9/jobs"}, "callback": {"url": "http://127.0.0.1:9/status"` + map[bool]string{true: ", " + c.fields}[c.fields != ""] + `}}`
		args := []string{"validate", writeNode(t, node)}
		if c.workerMode != "" {
			args = append(args, "--default-wait-mode", c.workerMode)
		}
		code, stdout, stderr := starter(t, args...)
		require.Equal(t, exitOK, code, stderr)
		require.Contains(t, stdout, "  waits: "+c.want)
	}
	t.Setenv("HTTPNODE_DEFAULT_WAIT_MODE", "activity") // the worker's variable, read alike
	code, stdout, _ = starter(t, "validate", writeNode(t, jobNode(`{}`)))
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "waits: activity mode (the worker's default, --default-wait-mode activity)")
	code, _, stderr := starter(t, "validate", "--default-wait-mode", "push", writeNode(t, jobNode(`{}`)))
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, `--default-wait-mode: "push" is not a way to wait for a callback that names none (use timer, activity, retry or auto)`)

	code, _, stderr = starter(t, "validate", writeNode(t, `{"request": {"methd": "GET", "url": "https://x.example", "auth": {"type": "bearer", "token": "abc"}}, "callback": {"interval": "5x"}}`))
	require.Equal(t, exitInvalid, code)
	for _, want := range []string{
		"4 problem(s)",
		`  callback.interval: "5x" is not a duration`,
		"  callback.url: is required",
		"  request.auth.token: must be a secret reference",
		`  request.methd: unknown field (did you mean "method"?)`,
	} {
		require.Contains(t, stderr, want)
	}
	code, _, stderr = starter(t, "validate", "/nonexistent.json")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "no such file")
	code, _, _ = starter(t, "validate")
	require.Equal(t, exitInvalid, code)
}

func TestStarterTest_ShowsResponseWithSecretsMasked(t *testing.T) {
	t.Setenv("HTTPNODE_SECRET_DEMO_KEY", "k-very-secret")
	t.Setenv("HTTPNODE_SECRET_DEMO_KEY_HOSTS", "http://127.0.0.1:*")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Key", r.Header.Get("X-API-Key"))
		fmt.Fprintf(w, `{"echo": %q}`, r.Header.Get("X-API-Key"))
	}))
	defer srv.Close()
	file := writeNode(t, fmt.Sprintf(`{"request": {"url": %q, "auth": {"type": "apiKey", "key": "${secret.DEMO_KEY}"}}}`, srv.URL+"/ping"))
	code, stdout, stderr := starter(t, "test", "--egress-allow", "127.0.0.1", file)
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{"GET " + srv.URL + "/ping", "request time", "status        200 OK", "duration", "connect", "first byte", "response headers", "X-Seen-Key: ***", `"echo": "***"`, "verdict       success"} {
		require.Contains(t, stdout, want)
	}
	require.NotContains(t, stdout, "k-very-secret")

	code, stdout, _ = starter(t, "test", "--egress-allow", "127.0.0.1", "--json", file)
	require.Equal(t, exitOK, code)
	var rep TestReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.Equal(t, 200, rep.Response.StatusCode)
	require.NotNil(t, rep.Timing.FirstByteMs)
	require.Greater(t, rep.Timing.TotalMs, 0.0)
}

// starter test applies the worker's rules to secrets: unbound, bound to
// another host, or one of the worker's keys, nothing is sent.
func TestStarterTest_SecretsOnlyWhereBound(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	t.Setenv("HTTPNODE_SECRET_UNBOUND", "unbound-value")
	t.Setenv("HTTPNODE_SECRET_ELSEWHERE", "elsewhere-value")
	t.Setenv("HTTPNODE_SECRET_ELSEWHERE_HOSTS", "api.example.com")
	t.Setenv("HTTPNODE_SECRET_CODEC_TOKEN", "codec-token-value")
	t.Setenv("HTTPNODE_SECRET_CODEC_TOKEN_HOSTS", "http://127.0.0.1:*")
	for name, want := range map[string]string{
		"UNBOUND":     "verdict       SecretNotBound: request.headers.X-Key: secret UNBOUND is not bound to any host, so no node may send it: name the hosts it is for, e.g. set HTTPNODE_SECRET_UNBOUND_HOSTS=http://127.0.0.1:",
		"ELSEWHERE":   "verdict       SecretNotBound: request.headers.X-Key: secret ELSEWHERE is not bound to http://127.0.0.1:",
		"CODEC_TOKEN": "verdict       InvalidNode: request.headers.X-Key: secret CODEC_TOKEN is the worker's codec server token",
	} {
		file := writeNode(t, fmt.Sprintf(`{"request": {"url": %q, "headers": {"X-Key": "${secret.%s}"}}}`, srv.URL, name))
		code, stdout, _ := starter(t, "test", "--egress-allow", "127.0.0.1", file)
		require.Equal(t, exitFailed, code, name)
		require.Contains(t, stdout, want)
		require.NotContains(t, stdout, "-value")
	}
	require.Zero(t, hits)
}

func TestStarterTest_ReportsTheVerdict(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusNotFound) }))
	defer srv.Close()
	file := writeNode(t, fmt.Sprintf(`{"request": {"url": %q, "errorMessages": {"404": "the job API moved"}}}`, srv.URL))
	code, stdout, _ := starter(t, "test", file)
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, `verdict       DestinationDenied: request: GET `+srv.URL+`: destination denied`, "test mode obeys the worker's egress policy")

	t.Setenv("HTTPNODE_EGRESS_ALLOW", "127.0.0.0/8")
	code, stdout, _ = starter(t, "test", file)
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, "status        404 Not Found")
	require.Contains(t, stdout, "verdict       HTTPStatus: request: the job API moved (HTTP 404)")
	require.True(t, strings.Contains(stdout, "nope"), "the body is shown")
}

// starter test shows what every rule says of the response, and the
// outputs, with the verdict the worker would reach.
func TestStarterTest_ShowsRulesAndOutputs(t *testing.T) {
	t.Setenv("HTTPNODE_EGRESS_ALLOW", "127.0.0.0/8")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"code": 1001, "msg": "quota exceeded", "data": {"url": "https://files.example/a.csv"}}`)
	}))
	defer srv.Close()
	node := func(code int) string {
		return fmt.Sprintf(`{"request": {"url": %q, "successWhen": "body.code == %d",
			"failWhen": [{"when": "body.code == 429", "message": "slow down"}, {"when": "body.code == 1001", "message": "quota exceeded"}]},
			"outputs": {"fileUrl": "body.data.url"}}`, srv.URL, code)
	}
	code, stdout, _ := starter(t, "test", writeNode(t, node(0)))
	require.Equal(t, exitFailed, code)
	for _, want := range []string{
		"  request.failWhen[0].when  body.code == 429  → false",
		"  request.failWhen[1].when  body.code == 1001  → true",
		"  request.successWhen  body.code == 0  → false",
		`verdict       ResponseRule: request: quota exceeded (failWhen "body.code == 1001", HTTP 200)`,
	} {
		require.Contains(t, stdout, want)
	}
	require.NotContains(t, stdout, "outputs\n", "no outputs when the response is refused")

	code, stdout, _ = starter(t, "test", writeNode(t, strings.Replace(node(1001), `"failWhen"`, `"failWhenOff"`, 1)))
	require.Equal(t, exitInvalid, code, "an unknown field is refused: %s", stdout)
	code, stdout, _ = starter(t, "test", writeNode(t, fmt.Sprintf(`{"request": {"url": %q, "successWhen": "body.code == 1001"}, "outputs": {"fileUrl": "body.data.url"}}`, srv.URL)))
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "outputs\n  fileUrl: \"https://files.example/a.csv\"\n")
	require.Contains(t, stdout, "verdict       success")
}

func TestStarterRun_ParamOverridesTheFile(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	file := writeNode(t, fmt.Sprintf(`{"params": {"region": "eu"}, "request": {"url": %q}, "retry": {"count": 0}}`, srv.URL+"/${region}/jobs"))
	code, stdout, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--param", "region=us", file)...)
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, "/us/jobs", got)
	var res httpnode.Result
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	require.Equal(t, map[string]string{"region": "us"}, res.Params)

	code, _, stderr = starter(t, "run", "--param", "no-equals", file)
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, `"no-equals": use --param name=value`)
}

func TestStarterValidate_Parameters(t *testing.T) {
	file := writeNode(t, `{"request": {"url": "https://x.example/${env}/${yyyyMMdd-1d}"}}`)
	code, _, stderr := starter(t, "validate", file)
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "request.url: unknown parameter ${env} (define it in the node's params, pass --param env=..., or set it on the worker as HTTPNODE_PARAM_env)")

	code, _, _ = starter(t, "validate", "--param", "env=prod", file)
	require.Equal(t, exitOK, code)
	t.Setenv("HTTPNODE_PARAM_env", "prod")
	code, _, _ = starter(t, "validate", file)
	require.Equal(t, exitOK, code, "global parameters from the environment count")

	code, _, stderr = starter(t, "validate", writeNode(t, `{"request": {"url": "https://x.example/${yyyyMMdd-1q}"}}`))
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "request.url: bad time macro ${yyyyMMdd-1q}")
	code, _, stderr = starter(t, "validate", writeNode(t, `{"timeZone": "Mars/Base", "request": {"url": "https://x.example"}}`))
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, `timeZone: "Mars/Base" is not a time zone`)
}
