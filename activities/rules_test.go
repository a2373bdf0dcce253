package activities

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

// answer serves one response: status, content type and body, and a header.
func answer(t *testing.T, status int, contentType, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Add("X-Quota", "7")
		w.Header().Add("X-Quota", "8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sendWith(t *testing.T, srv *httptest.Server, edit func(*httpnode.Request), outputs map[string]string) (SendRequestOutput, error) {
	r := request("POST", srv.URL)
	edit(&r)
	return newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r), Outputs: outputs})
}

// The main response is judged by failWhen (in order), the status rule, then
// successWhen, over every variable.
func TestSendRequest_Rules(t *testing.T) {
	quota := []httpnode.FailRule{
		{When: "body.code == 1001", Message: "quota exceeded"},
		{When: "body.code == 429", Message: "slow down", Retry: true},
		{When: "body.code != 0", Message: "the first rule that matches wins"},
	}
	cases := []struct {
		name, contentType, body string
		status                  int
		edit                    func(*httpnode.Request)
		errType                 string // "" for success
		retryable               bool
		message                 string
	}{
		{"a body code maps to a message", "application/json", `{"code": 1001, "msg": "quota"}`, 200,
			func(r *httpnode.Request) { r.FailWhen = quota }, httpnode.ErrResponseRule, false, `request: quota exceeded (failWhen "body.code == 1001", HTTP 200)`},
		{"retry makes it retryable", "application/json", `{"code": 429}`, 200,
			func(r *httpnode.Request) { r.FailWhen = quota }, httpnode.ErrResponseRule, true, "request: slow down"},
		{"checked in order", "application/json", `{"code": 7}`, 200,
			func(r *httpnode.Request) { r.FailWhen = quota }, httpnode.ErrResponseRule, false, "the first rule that matches wins"},
		{"on any status, before the status rule", "application/json", `{"code": 1001}`, 400,
			func(r *httpnode.Request) { r.FailWhen = quota }, httpnode.ErrResponseRule, false, "quota exceeded"},
		{"no rule matches", "application/json", `{"code": 0}`, 200,
			func(r *httpnode.Request) { r.FailWhen = quota }, "", false, ""},
		{"successWhen true", "application/json", `{"code": 0, "data": {"items": []}}`, 200,
			func(r *httpnode.Request) { r.SuccessWhen = "body.code == 0 && size(body.data.items) == 0" }, "", false, ""},
		{"successWhen false", "application/json", `{"code": 3}`, 200,
			func(r *httpnode.Request) { r.SuccessWhen = "body.code == 0" }, httpnode.ErrResponseRule, false, `request: successWhen "body.code == 0" is false of the response (HTTP 200): {"code": 3}`},
		{"successWhen on a failed status is not reached", "application/json", `{"code": 0}`, 503,
			func(r *httpnode.Request) { r.SuccessWhen = "body.code == 0" }, httpnode.ErrHTTPStatus, true, "answered 503"},
		{"status and headers", "application/json", `{}`, 201,
			func(r *httpnode.Request) { r.SuccessWhen = `status == 201 && headers["x-quota"] == ["7", "8"]` }, "", false, ""},
		{"text", "text/plain", "OK: done", 200,
			func(r *httpnode.Request) { r.SuccessWhen = `text.startsWith("OK")` }, "", false, ""},
		{"XML as LookupBody reads it", "application/xml", `<Response><JobsDetail><State>Success</State></JobsDetail></Response>`, 200,
			func(r *httpnode.Request) { r.SuccessWhen = `body.JobsDetail.State == "Success"` }, "", false, ""},
		{"a body that is neither is null", "text/plain", "not json", 200,
			func(r *httpnode.Request) { r.SuccessWhen = `body == null` }, "", false, ""},
		{"a missing field is an error naming the rule", "application/json", `{}`, 200,
			func(r *httpnode.Request) { r.SuccessWhen = "body.code == 0" }, httpnode.ErrExpression, false, `request.successWhen: "body.code == 0" could not be evaluated: no such key: code`},
		{"a guarded field is not", "application/json", `{}`, 200,
			func(r *httpnode.Request) { r.SuccessWhen = "!has(body.code) || body.code == 0" }, "", false, ""},
		{"a runaway expression hits the cost limit", "application/json", `{}`, 200,
			func(r *httpnode.Request) {
				r.SuccessWhen = `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a+b+c+d+e+f > 0))))))`
			}, httpnode.ErrExpression, false, "cost limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := answer(t, c.status, c.contentType, c.body)
			out, err := sendWith(t, srv, c.edit, nil)
			if c.errType == "" {
				require.NoError(t, err)
				require.Equal(t, c.status, out.Response.StatusCode)
				return
			}
			app := requireAppError(t, err, c.errType, c.retryable)
			require.Contains(t, app.Message(), c.message)
		})
	}
}

func TestSendRequest_Outputs(t *testing.T) {
	srv := answer(t, 200, "application/json", `{"data": {"url": "https://files.example/a.csv", "rows": "42", "tags": ["a", "b"], "big": 12345678901234567}}`)
	out, err := sendWith(t, srv, func(*httpnode.Request) {}, map[string]string{
		"fileUrl": "body.data.url", "rows": "int(body.data.rows)", "tags": "body.data.tags", "big": "body.data.big",
		"missing": "has(body.data.nope) ? body.data.nope : null", "summary": `{"n": int(body.data.rows), "ok": true}`,
	})
	require.NoError(t, err)
	got := map[string]string{}
	for k, v := range out.Outputs {
		got[k] = string(v)
	}
	require.Equal(t, map[string]string{
		"fileUrl": `"https://files.example/a.csv"`, "rows": "42", "tags": `["a","b"]`,
		"big": `"12345678901234567"`, // beyond 2^53, JSON numbers lose digits: written as a string

		"missing": "null", "summary": `{"n":42,"ok":true}`,
	}, got)

	_, err = sendWith(t, srv, func(*httpnode.Request) {}, map[string]string{"fileUrl": "body.data.link"})
	app := requireAppError(t, err, httpnode.ErrExpression, false)
	require.Contains(t, app.Message(), `outputs.fileUrl: "body.data.link" could not be evaluated: no such key: link`)

	_, err = sendWith(t, srv, func(*httpnode.Request) {}, map[string]string{"when": "type(1)"})
	app = requireAppError(t, err, httpnode.ErrExpression, false)
	require.Contains(t, app.Message(), "outputs.when")

	huge := answer(t, 200, "application/json", `{"blob": "`+strings.Repeat("x", httpnode.MaxOutputsBytes)+`"}`)
	_, err = sendWith(t, huge, func(r *httpnode.Request) { r.MaxResponseBytes = httpnode.MaxResponseBytesLimit }, map[string]string{"blob": "body.blob"})
	app = requireAppError(t, err, httpnode.ErrLimitExceeded, false)
	require.Contains(t, app.Message(), "outputs: more than the 64 KiB outputs may hold together (outputs.blob alone is")
}

// Outputs never carry a secret the request used, even when the remote
// echoes it.
func TestSendRequest_OutputsAreMasked(t *testing.T) {
	srv := echoAuthorization(t, "echo")
	out, err := sendWith(t, srv, func(r *httpnode.Request) {
		r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.TOKEN}"}
	}, map[string]string{"echo": "body.echo"})
	require.NoError(t, err)
	require.NotContains(t, string(out.Outputs["echo"]), "tok-123456")
	require.Contains(t, string(out.Outputs["echo"]), "***")
}

// A poll judged by rules: failWhen, then successWhen, then pendingWhen;
// polls and elapsed are known; outputs come with a success.
func TestCheckStatus_Rules(t *testing.T) {
	srv := answer(t, 200, "application/json", `{"state": "RUNNING", "items": [1], "result": {"id": "r-9"}}`)
	judged := func(edit func(*CheckStatusInput)) (CheckStatusOutput, error) {
		in := checkInput(srv.URL)
		in.Judged, in.StatusField, in.Vars = true, "state", PollVars{Poll: 3, WaitSince: time.Now().Add(-time.Minute)}
		edit(&in)
		return newActivities().CheckStatus(context.Background(), in)
	}
	cases := []struct {
		name    string
		edit    func(*CheckStatusInput)
		outcome string
	}{
		{"success when the list is empty: not yet", func(in *CheckStatusInput) { in.Request = withRule(in.Request, "size(body.items) == 0") }, OutcomePending},
		{"success", func(in *CheckStatusInput) { in.Request = withRule(in.Request, "size(body.items) == 1") }, OutcomeSuccess},
		{"pending while pendingWhen", func(in *CheckStatusInput) {
			in.Request, in.PendingWhen = withRule(in.Request, `body.state == "DONE"`), `body.state == "RUNNING"`
		}, OutcomePending},
		{"neither: a failure", func(in *CheckStatusInput) {
			in.Request, in.PendingWhen = withRule(in.Request, `body.state == "DONE"`), `body.state == "QUEUED"`
		}, OutcomeFailure},
		{"only pendingWhen: what is not pending succeeds", func(in *CheckStatusInput) { in.PendingWhen = `body.state == "QUEUED"` }, OutcomeSuccess},
		{"polls and elapsed", func(in *CheckStatusInput) {
			in.Request = withRule(in.Request, `polls == 3 && elapsed > duration("30s")`)
		}, OutcomeSuccess},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := judged(c.edit)
			require.NoError(t, err)
			require.Equal(t, c.outcome, out.Outcome)
			require.Equal(t, "RUNNING", out.Status, "statusField still names what the progress shows")
		})
	}
	out, err := judged(func(in *CheckStatusInput) {
		in.Request, in.Outputs = withRule(in.Request, "true"), map[string]string{"resultId": "body.result.id", "polls": "polls"}
	})
	require.NoError(t, err)
	require.Equal(t, `"r-9"`, string(out.Outputs["resultId"]))
	require.Equal(t, `3`, string(out.Outputs["polls"]))

	_, err = judged(func(in *CheckStatusInput) {
		r := in.Request.Request()
		r.FailWhen = []httpnode.FailRule{{When: `body.state == "RUNNING"`, Message: "no running allowed"}}
		in.Request = ready(r)
	})
	app := requireAppError(t, err, httpnode.ErrResponseRule, false)
	require.Contains(t, app.Message(), "callback: no running allowed")
}

// echoAuthorization answers {field: <the request's Authorization header>},
// as a remote that echoes the credentials it got.
func echoAuthorization(t *testing.T, field string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{field: r.Header.Get("Authorization")})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func withRule(rd httpnode.Ready, successWhen string) httpnode.Ready {
	r := rd.Request()
	r.SuccessWhen = successWhen
	return ready(r)
}

// CEL's error may quote the response: a secret the remote echoes is masked
// in it too.
func TestSendRequest_ExpressionErrorsAreMasked(t *testing.T) {
	srv := echoAuthorization(t, "n")
	_, err := sendWith(t, srv, func(r *httpnode.Request) {
		r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.TOKEN}"}
		r.SuccessWhen = `{"x": 1}[body.n] == 1` // no such key: <the value>
	}, nil)
	app := requireAppError(t, err, httpnode.ErrExpression, false)
	require.NotContains(t, app.Message(), "tok-123456")
}

// A pushed XML TaskFinish judged by rules: the status shown is
// pushStatusField's, the outcome the rules'.
func TestJudgePush(t *testing.T) {
	doc := `<Response><JobsDetail><State>Success</State><JobId>j-9</JobId></JobsDetail></Response>`
	in := JudgePushInput{ContentType: "application/xml", Body: doc, StatusField: "JobsDetail.State",
		Rules: httpnode.Request{SuccessWhen: "body.JobsDetail.State == 'Success'"}, PendingWhen: "body.JobsDetail.State == 'Running'",
		Outputs: map[string]string{"jobId": "body.JobsDetail.JobId", "pushes": "polls"}, Vars: PollVars{Poll: 2, WaitSince: time.Now()}}
	out, err := newActivities().JudgePush(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, JudgePushOutput{Status: "Success", Outcome: OutcomeSuccess, Outputs: map[string]json.RawMessage{"jobId": json.RawMessage(`"j-9"`), "pushes": json.RawMessage(`2`)}}, out)

	in.Body = strings.Replace(doc, "Success", "Failed", 1)
	out, err = newActivities().JudgePush(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, OutcomeFailure, out.Outcome, "neither pending nor success")
	require.Empty(t, out.Outputs)

	in.Rules.SuccessWhen = "body.JobsDetail.Result.Url != ''"
	_, err = newActivities().JudgePush(context.Background(), in)
	requireAppError(t, err, httpnode.RejectUnreadable, false)
}
