package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

const pushNode = `{
	"name": "push",
	"request": {"method": "POST", "url": "http://jobs.test/jobs", "body": {"callbackUrl": "${callbackUrl}"}},
	"callback": {"mode": "push", "deadline": "2h"},
	"retry": {"count": 0}
}`

// push sends a callback update (its update id is the delivery id and a
// counter) and returns how the node answered: the refusal's type, whether
// the validator refused or the handler failed, or "" and the ack.
func push(env *testsuite.TestWorkflowEnvironment, key, id, body string) (reject *string, ack *httpnode.CallbackAck) {
	reject, ack = new(string), new(httpnode.CallbackAck)
	refused := func(err error) {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			*reject = app.Type()
		} else if err != nil {
			*reject = err.Error()
		}
	}
	updates++
	env.UpdateWorkflow(httpnode.CallbackUpdate, fmt.Sprint(id, "-", updates), &testsuite.TestUpdateCallback{
		OnReject: refused,
		OnComplete: func(v any, err error) {
			refused(err)
			if a, ok := v.(httpnode.CallbackAck); ok {
				*ack = a
			}
		},
	}, httpnode.CallbackDelivery{AttemptKey: key, DeliveryID: id, ContentType: "application/json", Body: body})
	return reject, ack
}

var updates int

func TestHTTPNode_PushedStatusesAndRefusals(t *testing.T) {
	env := newEnv(t)
	sent := mainResponse(env, `{"taskId": "t1"}`)
	type answer struct {
		reject *string
		ack    *httpnode.CallbackAck
	}
	answers := map[string]answer{}
	at := func(d time.Duration, name, key, id, body string) {
		env.RegisterDelayedCallback(func() {
			if key == "" {
				key = (*sent)[0].IdempotencyKey
			}
			r, a := push(env, key, id, body)
			answers[name] = answer{r, a}
		}, d)
	}
	at(time.Minute, "progress", "", "d1", `{"status": "PROCESSING"}`)
	at(2*time.Minute, "replay", "", "d1", `{"status": "PROCESSING"}`)
	at(3*time.Minute, "stale", "another-attempt", "d2", `{"status": "SUCCESS"}`)
	at(4*time.Minute, "unreadable", "", "d3", `{"state": "SUCCESS"}`)
	at(time.Hour, "final", "", "d4", `{"status": "SUCCESS"}`)
	var progress Progress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&progress))
	}, 5*time.Minute)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(pushNode))

	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, res.Pushes)
	require.Zero(t, res.Polls)
	require.Equal(t, "t1", res.TaskID)
	require.Equal(t, time.Hour, res.EndTime.Sub(res.StartTime), "the node ended with the final push")
	require.Equal(t, &httpnode.CallbackAck{Status: "PROCESSING"}, answers["progress"].ack)
	require.Equal(t, 1, progress.Pushes)
	require.Equal(t, "PROCESSING", progress.LastStatus)
	require.Nil(t, progress.NextPollTime, "no poll in push mode")
	require.Equal(t, res.StartTime.Add(2*time.Hour), *progress.PushDeadline, "the wait ends at the deadline")
	require.Equal(t, httpnode.RejectDuplicate, *answers["replay"].reject)
	require.Equal(t, httpnode.RejectStale, *answers["stale"].reject)
	require.Equal(t, httpnode.RejectUnreadable, *answers["unreadable"].reject)
	require.Equal(t, &httpnode.CallbackAck{Status: "SUCCESS", Final: true}, answers["final"].ack)
	require.Empty(t, *answers["final"].reject)
}

// Once a final status is applied, the same one again is a duplicate and
// another one a conflict, also while the node is finishing (notifying).
func TestHTTPNode_FirstFinalPushWins(t *testing.T) {
	env := newEnv(t)
	sent := mainResponse(env, `{"taskId": "t1"}`)
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).After(time.Minute).Return(activities.NotifyOutput{StatusCode: 204}, nil)
	var same, other *string
	env.RegisterDelayedCallback(func() { push(env, (*sent)[0].IdempotencyKey, "a", `{"status": "FAILED"}`) }, time.Minute)
	env.RegisterDelayedCallback(func() {
		key := (*sent)[0].IdempotencyKey
		same, _ = push(env, key, "b", `{"status": "FAILED"}`)
		other, _ = push(env, key, "c", `{"status": "SUCCESS"}`)
	}, 90*time.Second)
	node := patch(t, pushNode, `{"notify": {"url": "http://hooks.test/done"}}`)
	env.ExecuteWorkflow(HTTPNodeName, node)
	_, res := failure(t, env, httpnode.ErrCallbackStatus)
	require.Equal(t, "FAILED", res.CallbackStatus)
	require.Equal(t, 1, res.Pushes)
	require.Equal(t, httpnode.RejectDuplicate, *same)
	require.Equal(t, httpnode.RejectConflict, *other)
}

func TestHTTPNode_PushDeadline(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{}`)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(pushNode))
	_, res := failure(t, env, httpnode.ErrPollDeadlineExceeded)
	require.Equal(t, 2*time.Hour, res.EndTime.Sub(res.StartTime))
}

func TestHTTPNode_PollNodeRefusesPushes(t *testing.T) {
	env := newEnv(t)
	sent := mainResponse(env, `{"taskId": "t1"}`)
	statuses(env, "PROCESSING", "SUCCESS")
	var rejected *string
	env.RegisterDelayedCallback(func() { rejected, _ = push(env, (*sent)[0].IdempotencyKey, "x", `{"status": "SUCCESS"}`) }, 5*time.Second)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(jobNode))
	require.Equal(t, 2, result(t, env).Polls, "the node polled to the end")
	require.Contains(t, *rejected, "unknown update", "a node that is not in a push mode takes no callback")
}

// push+poll: without a push, the safety-net polls run at the interval
// (default 1m) and their final status ends the node.
func TestHTTPNode_PushPollPollsAsASafetyNet(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"taskId": "t1"}`)
	polls := statuses(env, "PROCESSING", "SUCCESS")
	node := patch(t, pushNode, `{"callback": {"mode": "push+poll", "url": "http://jobs.test/status"}}`)
	env.ExecuteWorkflow(HTTPNodeName, node)
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, res.Polls)
	require.Equal(t, "http://jobs.test/status/t1", (*polls)[0].in.Request.Request().URL)
	require.Equal(t, 2*time.Minute, res.EndTime.Sub(res.StartTime), "two polls, a minute apart")
}

// location: a 202 with a Location is polled there, with the main request's
// auth on the same origin and its success rule; the first wait is the
// 202's Retry-After.
func TestHTTPNode_LocationPolling(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Return(activities.SendRequestOutput{
		Response: httpnode.Response{StatusCode: 202, Headers: map[string]string{"Location": "/ops/9?x=1", "Retry-After": "3"}},
	}, nil)
	var got []activities.CheckStatusInput
	env.OnActivity(a.CheckStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CheckStatusInput) (activities.CheckStatusOutput, error) {
		got = append(got, in)
		if len(got) == 1 {
			return activities.CheckStatusOutput{Status: "202 Accepted", StatusCode: 202, Outcome: activities.OutcomePending}, nil
		}
		return activities.CheckStatusOutput{Status: "200 OK", StatusCode: 200, Outcome: activities.OutcomeSuccess, Response: &httpnode.Response{StatusCode: 200}}, nil
	})
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"method": "POST", "url": "https://api.test/v1/exports?async=1",
		"auth": {"type": "bearer", "token": "${secret.T}"}, "successStatus": ["200", "202"]},
		"callback": {"mode": "location", "interval": "10s"}, "retry": {"count": 0}}`))
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, "200 OK", res.CallbackStatus)
	require.Len(t, got, 2)
	in := got[0]
	require.True(t, in.Location)
	require.Equal(t, "https://api.test/ops/9?x=1", in.Request.Request().URL)
	require.Equal(t, "GET", in.Request.Request().Method)
	require.Equal(t, &httpnode.Auth{Type: "bearer", Token: "${secret.T}"}, in.Request.Request().Auth)
	require.Equal(t, []string{"200", "202"}, in.Request.Request().SuccessStatus)
	require.Equal(t, 13*time.Second, res.EndTime.Sub(res.StartTime), "3s (Retry-After), then the 10s interval")
}

// location: a main response that is not 202 + Location is the final answer.
func TestHTTPNode_LocationWithASynchronousAnswer(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"rows": 42}`)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"url": "https://api.test/v1/exports"},
		"callback": {"mode": "location"}, "retry": {"count": 0}}`))
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Zero(t, res.Polls)
}
