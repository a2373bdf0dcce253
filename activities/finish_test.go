package activities

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/callbackurl"
	"github.com/httpnode/httpnode/internal/webhook"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // HTTPNODE_SECRET_HOOK in testEnv

func verify(t *testing.T, h http.Header, body string) string {
	t.Helper()
	sec, err := webhook.ParseSecret(hookSecret)
	require.NoError(t, err)
	id, err := webhook.Verify(h, []byte(body), []webhook.Secret{sec}, time.Now(), 0)
	require.NoError(t, err)
	return id
}

// request.sign: the main request carries a Standard Webhooks signature of
// its body, with the idempotency key as webhook-id (stable across retries).
func TestSendRequest_Signed(t *testing.T) {
	srv, got := recorder(t, 200, `{}`)
	r := request("POST", srv.URL)
	r.Body, r.BodyType = json.RawMessage(`{"job": 1}`), httpnode.BodyJSON
	r.Sign = &httpnode.Sign{Secrets: []string{"${secret.HOOK}"}}
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r), IdempotencyKey: "key-1"})
	require.NoError(t, err)
	require.Equal(t, "key-1", verify(t, got.header, got.body))
	require.NotContains(t, out.Sent.Headers["Webhook-Signature"], strings.TrimPrefix(hookSecret, "whsec_"))

	r.Sign = &httpnode.Sign{Secrets: []string{"${secret.NOPE}"}}
	_, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrSecretNotFound, false)
	require.Contains(t, app.Message(), "request.sign.secrets[0]: secret NOPE is not set")
}

func TestNotify_PostsTheSignedDocument(t *testing.T) {
	doc := httpnode.TaskFinish{EventName: httpnode.TaskFinishEvent, JobsDetail: httpnode.TaskFinishJob{State: "Success", JobID: "wf-1"}}
	for _, format := range []string{httpnode.FormatJSON, httpnode.FormatXML} {
		srv, got := recorder(t, 204, ``)
		req := httpnode.Node{Notify: &httpnode.Notify{Request: httpnode.Request{URL: srv.URL + "/hooks", Sign: &httpnode.Sign{Secrets: []string{"${secret.HOOK}"}}}}}.WithDefaults().Notify.Request
		out, err := newActivities().Notify(context.Background(), NotifyInput{Request: ready(req), Format: format, Document: doc, MessageID: "msg_1"})
		require.NoError(t, err)
		require.Equal(t, 204, out.StatusCode)
		require.Equal(t, "POST", got.method)
		require.Equal(t, "application/"+format, got.header.Get("Content-Type"))
		require.Equal(t, "msg_1", verify(t, got.header, got.body))
		state, err := httpnode.LookupBody(got.header.Get("Content-Type"), []byte(got.body), "JobsDetail.State")
		require.NoError(t, err)
		require.Equal(t, "Success", state)
	}

	for code, retryable := range map[int]bool{503: true, 429: true, 400: false} {
		srv, _ := recorder(t, code, ``)
		req := httpnode.Node{Notify: &httpnode.Notify{Request: httpnode.Request{URL: srv.URL}}}.WithDefaults().Notify.Request
		_, err := newActivities().Notify(context.Background(), NotifyInput{Request: ready(req), Format: "json", Document: doc})
		requireAppError(t, err, httpnode.ErrHTTPStatus, retryable)
	}
}

func TestCancelJob_JudgesBySuccessRule(t *testing.T) {
	srv, got := recorder(t, 202, `{"status": "CANCELLED"}`)
	c := httpnode.Node{Cancel: &httpnode.Request{Method: "DELETE", URL: srv.URL + "/jobs/t-1"}}.WithDefaults().Cancel
	out, err := newActivities().CancelJob(context.Background(), CancelJobInput{Request: ready(*c)})
	require.NoError(t, err)
	require.Equal(t, "DELETE", got.method)
	require.Equal(t, "/jobs/t-1", got.path)
	require.Equal(t, 202, out.Response.StatusCode)

	srv, _ = recorder(t, 409, `{"error": "already done"}`)
	c.URL = srv.URL
	_, err = newActivities().CancelJob(context.Background(), CancelJobInput{Request: ready(*c)})
	requireAppError(t, err, httpnode.ErrHTTPStatus, false)
}

func TestCheckStatus_LocationOutcomes(t *testing.T) {
	cases := []struct {
		code      int
		outcome   string
		retryable bool
	}{
		{202, OutcomePending, false},
		{200, OutcomeSuccess, false},
		{303, OutcomeFailure, false},
		{409, OutcomeFailure, false},
		{503, "", true},
	}
	for _, tc := range cases {
		srv, _ := recorder(t, tc.code, `{}`)
		in := checkInput(srv.URL + "/ops/1")
		in.Location = true
		out, err := newActivities().CheckStatus(context.Background(), in)
		if tc.retryable {
			requireAppError(t, err, httpnode.ErrHTTPStatus, true)
			continue
		}
		require.NoError(t, err, tc.code)
		require.Equal(t, tc.outcome, out.Outcome, tc.code)
		require.Equal(t, http.StatusText(tc.code), strings.SplitN(out.Status, " ", 2)[1])
		require.Equal(t, tc.outcome != OutcomePending, out.Response != nil, "the final response is kept")
	}
}

// ${callbackUrl} is the node attempt's URL under the receiver; its token is
// masked wherever the request is shown.
func TestSendRequest_CallbackURL(t *testing.T) {
	srv, got := recorder(t, 200, `{"taskId": "t1"}`)
	a := newActivities()
	a.Callbacks = &callbackurl.Minter{Base: "https://hooks.example.com", Key: []byte("k")}
	r := request("POST", srv.URL+"/jobs")
	r.Body, r.BodyType = json.RawMessage(`{"notifyUrl": "${callbackUrl}"}`), httpnode.BodyJSON
	r.Headers = map[string]string{"X-Callback": "${callbackUrl}"}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.SendRequest, SendRequestInput{Request: ready(r), IdempotencyKey: "key-9"})
	require.NoError(t, err)
	var out SendRequestOutput
	require.NoError(t, val.Get(&out))

	want, token := a.Callbacks.URL("default-test-workflow-id", "key-9")
	require.JSONEq(t, `{"notifyUrl": "`+want+`"}`, got.body)
	require.Equal(t, want, got.header.Get("X-Callback"))
	require.Equal(t, strings.Replace(want, token, "***", 1), out.Sent.Headers["X-Callback"], "the token is masked")

	// without a receiver, nothing is sent
	_, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrNoCallbackReceiver, false)
	require.Contains(t, app.Message(), "this worker serves no callback receiver")
}
