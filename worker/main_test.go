package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/conn"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

// freePort returns a port below the kernel's ephemeral range (32768 and
// up on Linux) that is free together with the dev server's service ports
// above it: an ephemeral port picked by a concurrent test's connection can
// then never take it between this check and the server's start.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		base := 20000 + rand.IntN(12000)
		if portsFree(base, 0, 1, 2, 3, 10, 11, 12, 13) {
			return base
		}
	}
	t.Fatal("no free port range below 32000")
	return 0
}

func portsFree(base int, offsets ...int) bool {
	for _, o := range offsets {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+o))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// process is one run of the worker's main, as a process would run it.
type process struct {
	stop func()
	done chan int
	logs *testutil.SyncBuffer
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{stop: cancel, done: make(chan int, 1), logs: &testutil.SyncBuffer{}}
	ready := make(chan struct{})
	go func() { p.done <- run(ctx, args, p.logs, func() { close(ready) }) }()
	select {
	case <-ready:
	case code := <-p.done:
		t.Fatalf("worker exited with %d before it was ready:\n%s", code, p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("worker not ready after 60s:\n%s", p.logs)
	}
	return p
}

func (p *process) shutdown(t *testing.T) {
	t.Helper()
	p.stop()
	select {
	case code := <-p.done:
		require.Equal(t, exitOK, code, p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("worker did not stop")
	}
}

// --dev serves the server and the Web UI, runs a node, and keeps it across a
// restart of the process: the node started before the restart finishes after
// it, and its main request was sent once.
func TestWorker_DevModeRunsNodeAcrossRestart(t *testing.T) {
	devPort, uiPort, healthPort := freePort(t), freePort(t), freePort(t)
	dataDir := t.TempDir()
	args := []string{"--dev", "--dev-port", strconv.Itoa(devPort), "--ui-port", strconv.Itoa(uiPort),
		"--dev-data-dir", dataDir, "--stop-timeout", "2s", "--health-addr", "127.0.0.1:" + strconv.Itoa(healthPort)}
	jobs := jobservice.New()
	svc := httptest.NewServer(jobs.Handler())
	defer svc.Close()

	t.Setenv("HTTPNODE_SECRET_DEMO_TOKEN", "demo-token-value")
	first := startProcess(t, args...)
	require.Contains(t, first.logs.String(), `"webUI":"http://127.0.0.1:`+strconv.Itoa(uiPort)+`"`, "the UI's address is printed")
	require.Contains(t, first.logs.String(), `"secrets":["DEMO_TOKEN"]`)
	require.Contains(t, first.logs.String(), `"message":"secrets without a binding of their own are bound to loopback for the demo (--dev)"`)
	require.Contains(t, first.logs.String(), `"policy":"deny internal addresses; allow 127.0.0.0/8, ::1/128`, "--dev says it allows loopback")
	require.Contains(t, first.logs.String(), `"store":"file://`+filepath.ToSlash(filepath.Join(dataDir, "bodies"))+`"`, "--dev keeps bodies in its data directory")
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(uiPort) + "/api/v1/namespaces/default")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the Web UI serves the default namespace")
	resp, err = http.Get("http://127.0.0.1:" + strconv.Itoa(healthPort) + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(devPort)})
	require.NoError(t, err)
	node := json.RawMessage(`{"request": {"method": "POST", "url": "` + svc.URL + `/jobs", "body": {"seconds": 3600}, "headers": {"X-Demo": "${secret.DEMO_TOKEN}"}},
		"callback": {"url": "` + svc.URL + `/status", "interval": "1s", "timeout": "2s"}, "retry": {"count": 0}}`)
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "dev-restart", TaskQueue: workflows.TaskQueue}, workflows.HTTPNodeName, node)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return jobs.Polls() >= 1 }, 30*time.Second, 20*time.Millisecond)
	c.Close()
	t0 := time.Now()
	first.shutdown(t)
	t.Logf("first process stopped in %s", time.Since(t0))
	t0 = time.Now()

	second := startProcess(t, args...)
	defer second.shutdown(t)
	c, err = client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(devPort)})
	require.NoError(t, err)
	defer c.Close()
	t.Logf("second process ready in %s", time.Since(t0))
	t0 = time.Now()
	polled := jobs.Polls()
	// A poll lost with the old process is retried after its 2s timeout (+10s margin).
	require.Eventually(t, func() bool { return jobs.Polls() > polled }, 60*time.Second, 20*time.Millisecond, "the node polls on after the restart")
	t.Logf("first poll after restart in %s", time.Since(t0))
	v, err := c.QueryWorkflow(context.Background(), run.GetID(), "", workflows.ProgressQuery)
	require.NoError(t, err)
	var p workflows.Progress
	require.NoError(t, v.Get(&p))
	require.True(t, jobs.Finish(p.TaskID, "SUCCESS"))
	var res httpnode.Result
	require.NoError(t, c.GetWorkflow(context.Background(), run.GetID(), "").Get(context.Background(), &res))
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.EqualValues(t, 1, jobs.Submissions())
}

func TestWorker_UnreachableServer(t *testing.T) {
	t.Setenv("HTTPNODE_SECRET_LONELY", "lonely-value")
	var logs testutil.SyncBuffer
	code := run(context.Background(), []string{"--address", "127.0.0.1:" + strconv.Itoa(freePort(t)), "--connect-timeout", "2s"}, &logs, nil)
	require.Equal(t, exitUnreachable, code)
	require.Contains(t, logs.String(), "cannot reach Temporal at 127.0.0.1:")
	require.Contains(t, logs.String(), "go run ./worker --dev")
	require.Contains(t, logs.String(), "secret LONELY is not bound to any host, so nodes cannot use it: set HTTPNODE_SECRET_LONELY_HOSTS", "the worker says at start which secrets nodes cannot use")
	require.NotContains(t, logs.String(), "lonely-value")
}

func TestWorker_BadConfiguration(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-level", "loud"}, nil, `--log-level: "loud" is not a level`},
		{[]string{"--log-format", "xml"}, nil, `--log-format: "xml" is not a format`},
		{[]string{"--max-concurrent-activities", "0"}, nil, "must be at least 1"},
		{nil, map[string]string{"HTTPNODE_DEFAULT_WAIT_MODE": "push"}, `--default-wait-mode: "push" is not a way to wait for a callback that names none (use timer, activity, retry or auto)`},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{nil, map[string]string{"HTTPNODE_STOP_TIMEOUT": "forever"}, `environment HTTPNODE_STOP_TIMEOUT="forever"`},
		{[]string{"--time-zone", "Mars/Base"}, nil, `--time-zone: "Mars/Base" is not a time zone`},
		{[]string{"--params-file", "/nonexistent.json"}, nil, "--params-file: no such file"},
		{[]string{"--egress-allow", "10.0.0.0/33"}, nil, `--egress-allow: "10.0.0.0/33" is not a CIDR, IP or host name`},
		{nil, map[string]string{"HTTPNODE_EGRESS_PORTS": "http"}, `--egress-ports: "http" is not a port number`},
		{[]string{"--body-max-bytes", "0"}, nil, "--body-max-bytes must be at least 1"},
		{[]string{"--body-retention", "10s"}, nil, "--body-retention must be 0 (keep) or at least 1m"},
		{[]string{"--body-store", "nosuch://bucket?secret=x"}, nil, `--body-store: "nosuch://bucket?secret=x" cannot be opened (use a directory, or a URL such as`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var logs testutil.SyncBuffer
			require.Equal(t, exitUsage, run(context.Background(), tc.args, &logs, nil), tc.args)
			require.Contains(t, logs.String(), tc.want)
		})
	}
}

// A value given where the name of a worker key belongs is refused, and
// the value is never printed.
func TestWorker_SecretValuesGivenAsNamesAreNotPrinted(t *testing.T) {
	const value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	for _, flag := range []string{"--callback-signing-secrets", "--encryption-keys", "--codec-token-secret", "--callback-key-secret"} {
		t.Run(flag, func(t *testing.T) {
			var logs testutil.SyncBuffer
			require.Equal(t, exitUsage, run(context.Background(), []string{"--callback-addr", "127.0.0.1:0", flag, value}, &logs, nil))
			require.Contains(t, logs.String(), flag+": entry 1: this looks like a secret value, not a secret's name (it is not shown)")
			require.NotContains(t, logs.String(), "MfKQ9r8G")
		})
	}
}

// Worker keys are read apart from node secrets: one found where nodes
// could reach it stops the worker, saying where it belongs.
func TestWorker_WorkerKeyAmongNodeSecretsIsRefused(t *testing.T) {
	t.Setenv("HTTPNODE_SECRET_CALLBACK_KEY", "a-callback-key-value")
	var logs testutil.SyncBuffer
	require.Equal(t, exitUsage, run(context.Background(), []string{"--callback-addr", "127.0.0.1:0"}, &logs, nil))
	require.Contains(t, logs.String(), "callback URL key CALLBACK_KEY is set among the node secrets (environment variable HTTPNODE_SECRET_CALLBACK_KEY on the worker), where nodes could reach it: worker keys are read from environment variable HTTPNODE_KEY_CALLBACK_KEY on the worker; move it there")
	require.NotContains(t, logs.String(), "a-callback-key-value")
}

func TestWorker_DevPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	var logs testutil.SyncBuffer
	code := run(context.Background(), []string{"--dev", "--dev-port", port, "--ui-port", "0", "--dev-data-dir", ""}, &logs, nil)
	require.Equal(t, exitFailure, code)
	require.Contains(t, logs.String(), "port "+port+" on 127.0.0.1 is taken")
}

// On shutdown the worker lets an in-flight request finish (within
// --stop-timeout) instead of cutting it off.
func TestWorker_ShutdownLetsInFlightRequestFinish(t *testing.T) {
	entered, finished := make(chan struct{}), make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		select {
		case <-release:
			_, _ = w.Write([]byte(`{"ok": true}`))
			close(finished)
		case <-r.Context().Done(): // the worker gave up on the request
		}
	}))
	defer slow.Close()
	devPort := freePort(t)
	p := startProcess(t, "--dev", "--dev-port", strconv.Itoa(devPort), "--ui-port", "0", "--dev-data-dir", "", "--stop-timeout", "20s")
	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(devPort)})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, workflows.HTTPNodeName,
		json.RawMessage(`{"request": {"url": "`+slow.URL+`"}, "retry": {"count": 0}}`))
	require.NoError(t, err)
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the request never arrived")
	}
	p.stop() // SIGTERM while the request is in flight
	select {
	case code := <-p.done:
		t.Fatalf("the worker exited (%d) before its in-flight request finished", code)
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request was cut off")
	}
	require.Equal(t, exitOK, <-p.done)
}

// --dev with encryption: the embedded Web UI is configured with the codec
// server, which decodes the node's encrypted payloads (and nothing without
// the token), while the stored input is ciphertext.
func TestWorker_DevEncryptionWiresTheWebUIToTheCodecServer(t *testing.T) {
	t.Setenv("HTTPNODE_KEY_DEV_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	devPort, uiPort := freePort(t), freePort(t)
	p := startProcess(t, "--dev", "--dev-port", strconv.Itoa(devPort), "--ui-port", strconv.Itoa(uiPort), "--dev-data-dir", "",
		"--encryption-keys", "DEV_KEY", "--log-level", "warn")
	defer p.shutdown(t)

	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(uiPort) + "/api/v1/settings")
	require.NoError(t, err)
	var settings struct{ Codec struct{ Endpoint string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	resp.Body.Close()
	endpoint := settings.Codec.Endpoint
	require.True(t, strings.HasPrefix(endpoint, "http://127.0.0.1:"+strconv.Itoa(uiPort+1)+"/"), endpoint)
	require.NotContains(t, p.logs.String(), strings.TrimPrefix(endpoint, "http://127.0.0.1:"+strconv.Itoa(uiPort+1)+"/"), "the token is not logged")

	// the node's input as the server stores it: encrypted
	const canary = "dev-encrypted-canary"
	raw, err := client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(devPort)})
	require.NoError(t, err)
	defer raw.Close()
	cd, err := (conn.Options{EncryptionKeys: "DEV_KEY"}).Codec()
	require.NoError(t, err)
	enc, err := client.NewClientFromExisting(raw, client.Options{DataConverter: codec.DataConverter(cd), FailureConverter: codec.FailureConverter(cd)})
	require.NoError(t, err)
	_, err = enc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "dev-encrypted", TaskQueue: workflows.TaskQueue}, workflows.HTTPNodeName,
		json.RawMessage(`{"runStatus": "skip", "request": {"url": "https://api.example.com/`+canary+`"}}`))
	require.NoError(t, err)
	desc, err := raw.DescribeWorkflowExecution(context.Background(), "dev-encrypted", "")
	require.NoError(t, err)
	hist := raw.GetWorkflowHistory(context.Background(), "dev-encrypted", desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), false, 0)
	ev, err := hist.Next()
	require.NoError(t, err)
	input := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
	require.NotContains(t, string(input.GetPayloads()[0].GetData()), canary)

	// the UI's endpoint decodes it, from the UI's origin
	body, err := protojson.Marshal(input)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://127.0.0.1:"+strconv.Itoa(uiPort))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	decoded, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(decoded))
	require.Equal(t, "http://127.0.0.1:"+strconv.Itoa(uiPort), resp.Header.Get("Access-Control-Allow-Origin"))
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(decoded, &out))
	require.Contains(t, string(out.GetPayloads()[0].GetData()), canary)

	resp, err = http.Post("http://127.0.0.1:"+strconv.Itoa(uiPort+1)+"/decode", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token, no plaintext")
}

func TestWorker_CodecServerNeedsKeysAndAToken(t *testing.T) {
	var logs testutil.SyncBuffer
	require.Equal(t, exitUsage, run(context.Background(), []string{"--codec-addr", "127.0.0.1:0"}, &logs, nil))
	require.Contains(t, logs.String(), "--codec-addr: the codec server needs --encryption-keys")

	t.Setenv("HTTPNODE_KEY_K1", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	logs = testutil.SyncBuffer{}
	require.Equal(t, exitUsage, run(context.Background(), []string{"--codec-addr", "127.0.0.1:0", "--encryption-keys", "K1"}, &logs, nil))
	require.Contains(t, logs.String(), "the codec server needs a token: set environment variable HTTPNODE_KEY_CODEC_TOKEN")

	logs = testutil.SyncBuffer{}
	require.Equal(t, exitUsage, run(context.Background(), []string{"--encryption-keys", "K2"}, &logs, nil))
	require.Contains(t, logs.String(), "--encryption-keys: key K2 is not set (set environment variable HTTPNODE_KEY_K2")
}
