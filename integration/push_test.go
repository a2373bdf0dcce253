package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/callbackurl"
	"github.com/httpnode/httpnode/internal/receiver"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/internal/webhook"
	"github.com/httpnode/httpnode/workflows"
)

// remote is a job API on loopback that, like a real one, keeps the callback
// URL of each job it is given; the test plays its side of the push.
type remote struct {
	srv     *httptest.Server
	mu      sync.Mutex
	hooks   map[string]string // task id -> callback URL
	status  string            // what GET /status/<id> answers
	polls   int
	got     chan string // callback URLs, as jobs are submitted
	lastKey string
}

func newRemote(t *testing.T) *remote {
	rm := &remote{hooks: map[string]string{}, status: "PROCESSING", got: make(chan string, 10)}
	rm.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rm.mu.Lock()
		defer rm.mu.Unlock()
		if r.Method == http.MethodPost {
			var body struct {
				CallbackURL string `json:"callbackUrl"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			id := fmt.Sprintf("t%d", len(rm.hooks)+1)
			rm.hooks[id], rm.lastKey = body.CallbackURL, r.Header.Get("Idempotency-Key")
			rm.got <- body.CallbackURL
			fmt.Fprintf(w, `{"taskId": %q}`, id)
			return
		}
		rm.polls++
		fmt.Fprintf(w, `{"status": %q}`, rm.status)
	}))
	t.Cleanup(rm.srv.Close)
	return rm
}

func (rm *remote) setStatus(s string) { rm.mu.Lock(); rm.status = s; rm.mu.Unlock() }
func (rm *remote) pollCount() int     { rm.mu.Lock(); defer rm.mu.Unlock(); return rm.polls }

// pushWorker runs a worker whose activities mint callback URLs for a
// receiver on loopback, requiring signatures by secrets when given.
func (f *fixture) pushWorker(t *testing.T, secrets ...webhook.Secret) {
	t.Helper()
	key := []byte("integration-callback-key")
	rcv := httptest.NewServer((&receiver.Receiver{Client: f.c, Key: key, Secrets: secrets, Timeout: 10 * time.Second}).Handler())
	t.Cleanup(rcv.Close)
	acts := activities.New(nil, testutil.Loopback)
	acts.Callbacks = &callbackurl.Minter{Base: rcv.URL, Key: key}
	w := worker.New(f.c, f.taskQueue, worker.Options{})
	workflows.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

func pushNode(rm *remote, mode, extra string) json.RawMessage {
	cb := `"mode": "` + mode + `", "deadline": "1m"`
	if mode == httpnode.ModePushPoll {
		cb += `, "url": "` + rm.srv.URL + `/status"`
	}
	return json.RawMessage(`{"name": "pushed", "request": {"method": "POST", "url": "` + rm.srv.URL + `/jobs",
		"body": {"callbackUrl": "${callbackUrl}"}}, "callback": {` + cb + extra + `}, "retry": {"count": 0}}`)
}

// post delivers a callback as the remote would, and returns the answer.
func post(t *testing.T, url, contentType, body string, header http.Header) (int, receiver.Answer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a receiver.Answer
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(b, &a), string(b))
	require.Contains(t, string(b), `"final":`, "every answer says whether the wait ended")
	return resp.StatusCode, a
}

func recv(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("the main request did not reach the remote")
		return ""
	}
}

// Push: the remote calls back with progress, then the final status; the
// node finishes without a single poll, and the token never reaches history.
func TestHTTPNode_PushedCallbackEndsTheNode(t *testing.T) {
	f := newFixture(t)
	f.pushWorker(t)
	rm := newRemote(t)
	run := f.start(t, pushNode(rm, httpnode.ModePush, ""))
	hook := recv(t, rm.got)
	require.Contains(t, hook, "/callbacks/"+run.GetID()+"/"+rm.lastKey+"/", "the URL is bound to the node and its attempt")

	code, ans := post(t, hook, "application/json", `{"taskId": "t1", "status": "PROCESSING"}`, nil)
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.Equal(t, receiver.Answer{Result: "accepted", Status: "PROCESSING"}, ans)
	code, ans = post(t, hook, "application/json", `{"taskId": "t1", "status": "SUCCESS"}`, nil)
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.Equal(t, receiver.Answer{Result: "accepted", Status: "SUCCESS", Final: true}, ans)

	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, res.Pushes)
	require.Zero(t, res.Polls)
	require.Equal(t, "SUCCESS", res.CallbackStatus)
	require.Equal(t, "t1", res.TaskID)
	token := hook[strings.LastIndex(hook, "/")+1:]
	hist := f.history(t, run)
	require.NotContains(t, payloadText(hist), token, "the callback token is not stored in history")
	record(t, "push_callback.json", hist)

	code, ans = post(t, hook, "application/json", `{"status": "FAILED"}`, nil)
	require.Equal(t, http.StatusGone, code, "a callback for a finished node is answered clearly")
	require.Contains(t, ans.Error, "already finished")
}

// A media service's XML TaskFinish document, read at JobsDetail.State; a
// failure state fails the node with the remote's status.
func TestHTTPNode_PushedTaskFinishXML(t *testing.T) {
	f := newFixture(t)
	f.pushWorker(t)
	rm := newRemote(t)
	node := pushNode(rm, httpnode.ModePush, `, "pushStatusField": "JobsDetail.State", "pending": ["Submitted", "Running"], "success": ["Success"]`)
	run := f.start(t, append(node[:len(node)-1], []byte(`, "onFailure": "continue"}`)...))
	hook := recv(t, rm.got)
	doc := `<?xml version="1.0"?><Response><EventName>TaskFinish</EventName><JobsDetail><Code>InternalError</Code>` +
		`<Message>transcode failed</Message><JobId>j-9</JobId><State>Failed</State></JobsDetail></Response>`
	code, ans := post(t, hook, "application/xml", doc, nil)
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.True(t, ans.Final)
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrCallbackStatus, res.Error.Type)
	require.Contains(t, res.Error.Message, `ended with status "Failed"`)
	require.Contains(t, res.Error.Message, "transcode failed", "the body excerpt is in the error")
}

// The receiver refuses what it must: a wrong token, a missing or bad
// signature, an old timestamp; a replayed delivery is a duplicate, an
// unreadable body and a conflicting final status are refused, and none of
// them changes the node.
func TestReceiver_RefusesWhatItMust(t *testing.T) {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	f := newFixture(t)
	f.pushWorker(t, secret)
	rm := newRemote(t)
	run := f.start(t, pushNode(rm, httpnode.ModePush, ""))
	hook := recv(t, rm.got)
	signed := func(id string, at time.Time, body string) http.Header {
		h := http.Header{}
		webhook.SignHeaders(h, []webhook.Secret{secret}, id, at, []byte(body))
		return h
	}
	const processing, success = `{"status": "PROCESSING"}`, `{"status": "SUCCESS"}`

	code, ans := post(t, hook[:len(hook)-3]+"AAA", "application/json", success, signed("msg_1", time.Now(), success))
	require.Equal(t, http.StatusForbidden, code, "wrong token")
	require.Contains(t, ans.Error, "token does not match")
	code, _ = post(t, hook, "application/json", success, nil)
	require.Equal(t, http.StatusUnauthorized, code, "no signature")
	code, _ = post(t, hook, "application/json", success, signed("msg_1", time.Now(), processing))
	require.Equal(t, http.StatusUnauthorized, code, "a signature of another body")
	code, ans = post(t, hook, "application/json", success, signed("msg_1", time.Now().Add(-10*time.Minute), success))
	require.Equal(t, http.StatusUnauthorized, code, "an old timestamp")
	require.Contains(t, ans.Error, "timestamp")

	code, ans = post(t, hook, "application/json", processing, signed("msg_2", time.Now(), processing))
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.Equal(t, "accepted", ans.Result)
	first := ans
	code, ans = post(t, hook, "application/json", processing, signed("msg_2", time.Now(), processing))
	require.Equal(t, http.StatusOK, code, "a replayed delivery is idempotent")
	require.Equal(t, first, ans, "the same answer, applied once (see the push count below)")
	code, ans = post(t, hook, "application/json", `{"state": "SUCCESS"}`, signed("msg_3", time.Now(), `{"state": "SUCCESS"}`))
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, ans.Error, `"status"`)

	code, ans = post(t, hook, "application/json", success, signed("msg_4", time.Now(), success))
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.True(t, ans.Final)
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, res.Pushes, "refused deliveries did not count")
}

// push+poll: whichever sees the final status first wins, both ways.
func TestHTTPNode_PushPollRace(t *testing.T) {
	t.Run("the push wins", func(t *testing.T) {
		f := newFixture(t)
		f.pushWorker(t)
		rm := newRemote(t)
		run := f.start(t, pushNode(rm, httpnode.ModePushPoll, `, "interval": "1m"`))
		hook := recv(t, rm.got)
		code, ans := post(t, hook, "application/json", `{"status": "SUCCESS"}`, nil)
		require.Equal(t, http.StatusOK, code, ans.Error)
		res := resultOf(t, run)
		require.Equal(t, httpnode.StatusSucceeded, res.Status)
		require.Equal(t, 1, res.Pushes)
		require.Zero(t, res.Polls, "the safety-net poll had not come yet")
	})
	t.Run("the poll wins", func(t *testing.T) {
		f := newFixture(t)
		f.pushWorker(t)
		rm := newRemote(t)
		rm.setStatus("SUCCESS") // the remote never calls back
		run := f.start(t, pushNode(rm, httpnode.ModePushPoll, `, "interval": "1s"`))
		hook := recv(t, rm.got)
		res := resultOf(t, run)
		require.Equal(t, httpnode.StatusSucceeded, res.Status)
		require.Equal(t, 1, res.Polls)
		require.Zero(t, res.Pushes)
		require.Equal(t, 1, rm.pollCount())
		code, _ := post(t, hook, "application/json", `{"status": "SUCCESS"}`, nil)
		require.Equal(t, http.StatusGone, code, "the late push is answered, not applied")
	})
}

// A push node on a worker without a receiver fails at once, saying why.
func TestHTTPNode_PushWithoutReceiverFailsClearly(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	rm := newRemote(t)
	err := f.start(t, pushNode(rm, httpnode.ModePush, "")).Get(context.Background(), nil)
	require.ErrorContains(t, err, "this worker serves no callback receiver (start it with --callback-addr")
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, httpnode.ErrNoCallbackReceiver, app.Type())
	select {
	case <-rm.got:
		t.Fatal("nothing was sent")
	default:
	}
}

// A callback for a node that is not in a push mode is refused clearly, and
// leaves the node polling.
func TestReceiver_RefusesACallbackForAPollingNode(t *testing.T) {
	f := newFixture(t)
	key := []byte("integration-callback-key")
	f.pushWorker(t)
	rm := newRemote(t)
	run := f.start(t, json.RawMessage(`{"request": {"method": "POST", "url": "`+rm.srv.URL+`/jobs"},
		"callback": {"url": "`+rm.srv.URL+`/status", "interval": "1s"}, "retry": {"count": 0}}`))
	recv(t, rm.got)
	rcv := httptest.NewServer((&receiver.Receiver{Client: f.c, Key: key, Timeout: 10 * time.Second}).Handler())
	defer rcv.Close()
	hook, _ := (&callbackurl.Minter{Base: rcv.URL, Key: key}).URL(run.GetID(), rm.lastKey)
	code, ans := post(t, hook, "application/json", `{"status": "SUCCESS"}`, nil)
	require.Equal(t, http.StatusConflict, code, ans.Error)
	require.Contains(t, ans.Error, "does not take pushed callbacks")
	rm.setStatus("SUCCESS")
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Zero(t, res.Pushes)
}

// Pushed callbacks judged by the callback's rules (in a local activity, not
// workflow code), with outputs of the final push; a push the rules cannot
// read is refused and the node waits on; a failWhen rule fails the node
// with its message.
func TestHTTPNode_PushRulesAndOutputs(t *testing.T) {
	f := newFixture(t)
	f.pushWorker(t)
	rules := `, "pushStatusField": "phase", "successWhen": "body.phase == 'done' && body.result.ok",
		"pendingWhen": "body.progress < 100", "failWhen": [{"when": "has(body.error)", "message": "the job failed"}]`
	start := func(name string) (client.WorkflowRun, string) {
		rm := newRemote(t)
		node := withFields(t, pushNode(rm, httpnode.ModePush, rules), `{"outputs": {"resultUrl": "body.result.url", "pushes": "polls"}, "onFailure": "continue"}`)
		run := f.startNamed(t, name, node)
		return run, recv(t, rm.got)
	}
	run, hook := start("-ok")
	code, ans := post(t, hook, "application/json", `{"phase": "running", "progress": 50}`, nil)
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.Equal(t, receiver.Answer{Result: "accepted", Status: "running"}, ans)
	code, ans = post(t, hook, "application/json", `{"phase": "running"}`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, code, "a push the rules cannot read is refused")
	require.Contains(t, ans.Error, `callback.pendingWhen: "body.progress < 100" could not be evaluated: no such key: progress`)
	code, ans = post(t, hook, "application/json", `{"phase": "done", "progress": 100, "result": {"ok": true, "url": "https://files.example/r.csv"}}`, nil)
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.Equal(t, receiver.Answer{Result: "accepted", Status: "done", Final: true}, ans)
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, res.Pushes)
	require.Equal(t, map[string]json.RawMessage{"resultUrl": json.RawMessage(`"https://files.example/r.csv"`), "pushes": json.RawMessage(`2`)}, res.Outputs)
	record(t, "push_rules.json", f.history(t, run))

	run, hook = start("-failed")
	code, ans = post(t, hook, "application/json", `{"phase": "running", "progress": 10, "error": "disk full"}`, nil)
	require.Equal(t, http.StatusOK, code, ans.Error)
	require.True(t, ans.Final)
	res = resultOf(t, run)
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrResponseRule, res.Error.Type)
	require.Contains(t, res.Error.Message, `callback: the job failed (failWhen "has(body.error)")`)
	require.Empty(t, res.Outputs)
}
