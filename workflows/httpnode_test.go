package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// jobNode is the async-job scenario: POST a job, poll its status every 10s.
const jobNode = `{
	"name": "export",
	"request": {"method": "POST", "url": "http://jobs.test/jobs", "body": {"seconds": 30}},
	"callback": {"url": "http://jobs.test/status", "interval": "10s"},
	"retry": {"count": 0}
}`

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	env := newBareEnv(t)
	env.RegisterWorkflowWithOptions(HTTPNode, workflow.RegisterOptions{Name: HTTPNodeName})
	return env
}

// newBareEnv is a test environment with the activities and no workflow.
func newBareEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// patch applies a JSON merge of extra fields onto a node document.
func patch(t *testing.T, base string, extra string) json.RawMessage {
	t.Helper()
	var b, e map[string]any
	require.NoError(t, json.Unmarshal([]byte(base), &b))
	require.NoError(t, json.Unmarshal([]byte(extra), &e))
	merge(b, e)
	out, err := json.Marshal(b)
	require.NoError(t, err)
	return out
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// mainResponse answers SendRequest with a job's taskId.
func mainResponse(env *testsuite.TestWorkflowEnvironment, body string) *[]activities.SendRequestInput {
	var calls []activities.SendRequestInput
	env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendRequestInput) (activities.SendRequestOutput, error) {
			calls = append(calls, in)
			return activities.SendRequestOutput{
				Sent:     httpnode.SentRequest{Method: in.Request.Request().Method, URL: in.Request.Request().URL},
				Response: httpnode.Response{StatusCode: 200, Body: body},
			}, nil
		})
	return &calls
}

type pollCall struct {
	in activities.CheckStatusInput
	at time.Time
}

// statuses answers the polls with the given remote statuses in order, the
// last one repeating.
func statuses(env *testsuite.TestWorkflowEnvironment, seq ...string) *[]pollCall {
	var calls []pollCall
	env.OnActivity(a.CheckStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CheckStatusInput) (activities.CheckStatusOutput, error) {
			calls = append(calls, pollCall{in, env.Now()})
			s := seq[min(len(calls), len(seq))-1]
			out := activities.CheckStatusOutput{Status: s, StatusCode: 200, Outcome: activities.OutcomeFailure}
			switch {
			case contains(in.Pending, s):
				out.Outcome = activities.OutcomePending
			case contains(in.Success, s):
				out.Outcome = activities.OutcomeSuccess
			}
			if out.Outcome != activities.OutcomePending {
				out.Response = &httpnode.Response{StatusCode: 200, Body: fmt.Sprintf(`{"status": %q}`, s)}
			}
			return out, nil
		})
	return &calls
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) httpnode.Result {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res httpnode.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// failure returns the workflow's ApplicationError and the Result in its details.
func failure(t *testing.T, env *testsuite.TestWorkflowEnvironment, wantType string) (*temporal.ApplicationError, httpnode.Result) {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, wantType, app.Type(), app.Message())
	var res httpnode.Result
	require.NoError(t, app.Details(&res))
	return app, res
}

func TestHTTPNode_PollsUntilSuccess(t *testing.T) {
	env := newEnv(t)
	sent := mainResponse(env, `{"taskId": "job 7", "status": "PROCESSING"}`)
	polls := statuses(env, "PROCESSING", "PROCESSING", "PROCESSING", "SUCCESS")
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(jobNode))

	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 1, res.Attempts)
	require.Equal(t, "job 7", res.TaskID)
	require.Equal(t, 4, res.Polls)
	require.Equal(t, "SUCCESS", res.CallbackStatus)
	require.NotNil(t, res.CallbackResponse)
	require.Equal(t, 200, res.Response.StatusCode)
	require.Len(t, *sent, 1)
	require.Len(t, *polls, 4)
	require.Equal(t, "http://jobs.test/status/job%207", (*polls)[0].in.Request.Request().URL)
	for i, p := range *polls {
		require.WithinDuration(t, res.StartTime.Add(time.Duration(i+1)*10*time.Second), p.at, 0, "poll %d runs on the 10s timer", i+1)
	}
	require.Equal(t, 40*time.Second, res.EndTime.Sub(res.StartTime))
}

func TestHTTPNode_ChildWorkflowStyleInput(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"ok": true}`)
	zero := 0
	env.ExecuteWorkflow(HTTPNodeName, httpnode.Node{Request: httpnode.Request{URL: "http://jobs.test/ping"}, Retry: &httpnode.Retry{Count: &zero}})
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Zero(t, res.Polls, "no callback, no polls")
}

func TestHTTPNode_RemoteFailureStatus(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"taskId": "t1"}`)
	statuses(env, "PROCESSING", "FAILED")
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(jobNode))
	app, res := failure(t, env, httpnode.ErrCallbackStatus)
	require.Equal(t, `callback: job t1 ended with status "FAILED", which is not in callback.success ["SUCCESS"] (nor callback.pending ["PROCESSING"]): {"status":"FAILED"}`, app.Message(), "the statuses that would have done, and the body (JSON kept as JSON, whitespace dropped)")
	require.True(t, app.NonRetryable())
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, 2, res.Polls)
	require.Equal(t, "FAILED", res.CallbackStatus)
}

func TestHTTPNode_Non2xxPollFails(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"taskId": "t1"}`)
	env.OnActivity(a.CheckStatus, mock.Anything, mock.Anything).Return(activities.CheckStatusOutput{},
		temporal.NewNonRetryableApplicationError("callback: GET http://jobs.test/status/t1 answered 404 Not Found", httpnode.ErrHTTPStatus, nil))
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(jobNode))
	app, res := failure(t, env, httpnode.ErrHTTPStatus)
	require.Contains(t, app.Message(), "404 Not Found")
	require.Equal(t, 1, res.Polls)
	require.Equal(t, httpnode.ErrHTTPStatus, res.Error.Type)
}

func TestHTTPNode_MissingTaskID(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"id": "t1"}`)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(jobNode))
	app, res := failure(t, env, httpnode.ErrMissingTaskID)
	require.Equal(t, `request: no task id in the main response: the body has no field "taskId" (set callback.taskIdField to the field that holds the task id): {"id":"t1"}`, app.Message())
	require.Zero(t, res.Polls)
}

func TestHTTPNode_CustomTaskIDFieldAndPlaceholder(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"data": {"job": {"id": 42}}}`)
	polls := statuses(env, "DONE")
	env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"url": "http://jobs.test/jobs/${taskId}/state?x=1", "taskIdField": "data.job.id", "success": ["DONE"], "query": {"id": "${taskId}"}}}`))
	res := result(t, env)
	require.Equal(t, "42", res.TaskID)
	require.Equal(t, "http://jobs.test/jobs/42/state?x=1", (*polls)[0].in.Request.Request().URL)
	require.Equal(t, map[string]string{"id": "42"}, (*polls)[0].in.Request.Request().Query)
}

func TestHTTPNode_PollDeadline(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"taskId": "t1"}`)
	polls := statuses(env, "PROCESSING")
	env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"deadline": "35s"}}`))
	app, res := failure(t, env, httpnode.ErrPollDeadlineExceeded)
	require.Contains(t, app.Message(), `no final status within callback.deadline 35s (3 polls, last status "PROCESSING")`)
	require.Len(t, *polls, 3, "no poll is scheduled past the deadline")
	require.Equal(t, 30*time.Second, res.EndTime.Sub(res.StartTime))
}

func TestHTTPNode_MaxPolls(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"taskId": "t1"}`)
	polls := statuses(env, "PROCESSING")
	env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"maxPolls": 2}}`))
	app, _ := failure(t, env, httpnode.ErrPollBudgetExceeded)
	require.Contains(t, app.Message(), "2 polls made without a final status")
	require.Len(t, *polls, 2)
}

func TestHTTPNode_RetryCountAndInterval(t *testing.T) {
	env := newEnv(t)
	var keys []string
	var at []time.Time
	env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendRequestInput) (activities.SendRequestOutput, error) {
			keys = append(keys, in.IdempotencyKey)
			at = append(at, env.Now())
			out := activities.SendRequestOutput{Response: httpnode.Response{StatusCode: 400}}
			if len(keys) < 3 {
				return out, temporal.NewApplicationErrorWithOptions("request: answered 400", httpnode.ErrHTTPStatus, temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{out}})
			}
			out.Response.StatusCode = 200
			return out, nil
		})
	var waiting Progress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&waiting))
	}, 30*time.Second)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"url": "http://jobs.test/x"}, "retry": {"count": 2, "interval": "1m"}}`))
	res := result(t, env)
	require.Equal(t, PhaseRetryWait, waiting.Phase)
	require.Equal(t, &httpnode.Error{Type: httpnode.ErrHTTPStatus, Message: "request: answered 400"}, waiting.LastError, "the retry wait says why")
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 3, res.Attempts)
	require.Len(t, res.AttemptLog, 2)
	require.Equal(t, 400, res.AttemptLog[0].StatusCode)
	require.Equal(t, httpnode.ErrHTTPStatus, res.AttemptLog[1].Error.Type)
	require.Equal(t, time.Minute, at[1].Sub(at[0]), "retry.interval is a durable timer")
	require.Equal(t, time.Minute, at[2].Sub(at[1]))
	require.Len(t, keys, 3)
	require.NotEqual(t, keys[0], keys[1], "each attempt has its own idempotency key")
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, keys[0])
}

func TestHTTPNode_DefaultRetryIsOneAfterFiveMinutes(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Return(activities.SendRequestOutput{},
		temporal.NewNonRetryableApplicationError("request: answered 400", httpnode.ErrHTTPStatus, nil)).Times(2)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"url": "http://jobs.test/x"}}`))
	_, res := failure(t, env, httpnode.ErrHTTPStatus)
	require.Equal(t, 2, res.Attempts)
	require.Equal(t, 5*time.Minute, res.EndTime.Sub(res.StartTime))
}

func TestHTTPNode_Skip(t *testing.T) {
	env := newEnv(t) // no activity is mocked: calling one would fail the test
	env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"runStatus": "skip"}`))
	res := result(t, env)
	require.Equal(t, httpnode.StatusSkipped, res.Status)
	require.Zero(t, res.Attempts)
	require.Nil(t, res.Request)
}

func TestHTTPNode_AbortVersusContinue(t *testing.T) {
	for _, onFailure := range []string{"abort", "continue"} {
		t.Run(onFailure, func(t *testing.T) {
			env := newEnv(t)
			mainResponse(env, `{"taskId": "t1"}`)
			statuses(env, "CANCELLED")
			env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"onFailure": "`+onFailure+`"}`))
			var res httpnode.Result
			if onFailure == "abort" {
				_, res = failure(t, env, httpnode.ErrCallbackStatus)
			} else {
				res = result(t, env)
			}
			require.Equal(t, httpnode.StatusFailed, res.Status)
			require.Equal(t, httpnode.ErrCallbackStatus, res.Error.Type)
			require.Equal(t, "CANCELLED", res.CallbackStatus)
		})
	}
}

func TestHTTPNode_NodeTimeout(t *testing.T) {
	for _, onFailure := range []string{"abort", "continue"} {
		t.Run(onFailure, func(t *testing.T) {
			env := newEnv(t)
			mainResponse(env, `{"taskId": "t1"}`)
			polls := statuses(env, "PROCESSING")
			env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"timeout": "55s", "onFailure": "`+onFailure+`"}`))
			var res httpnode.Result
			if onFailure == "abort" {
				var app *temporal.ApplicationError
				app, res = failure(t, env, httpnode.ErrNodeTimeout)
				require.Equal(t, "node: timeout 55s passed during attempt 1", app.Message())
			} else {
				res = result(t, env)
			}
			require.Equal(t, httpnode.StatusTimedOut, res.Status)
			require.Len(t, *polls, 5)
			require.Equal(t, 55*time.Second, res.EndTime.Sub(res.StartTime))
		})
	}
}

func TestHTTPNode_TimeoutDuringRetryWait(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Return(activities.SendRequestOutput{},
		temporal.NewNonRetryableApplicationError("request: answered 400", httpnode.ErrHTTPStatus, nil)).Once()
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"url": "http://jobs.test/x"}, "timeout": "2m", "retry": {"count": 3, "interval": "10m"}}`))
	_, res := failure(t, env, httpnode.ErrNodeTimeout)
	require.Equal(t, httpnode.StatusTimedOut, res.Status)
	require.Equal(t, 2*time.Minute, res.EndTime.Sub(res.StartTime))
}

func TestHTTPNode_InvalidNode(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(`{"request": {"url": "ftp://x"}, "callback": {"interval": "5x"}}`))
	require.True(t, env.IsWorkflowCompleted())
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, httpnode.ErrInvalidNode, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Message(), `callback.interval: "5x" is not a duration (use e.g. "5s", "1m"`)
}

func TestHTTPNode_ProgressQuery(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"taskId": "t1"}`)
	statuses(env, "PROCESSING", "PROCESSING", "PROCESSING", "SUCCESS")
	var mid Progress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	}, 25*time.Second)
	env.ExecuteWorkflow(HTTPNodeName, json.RawMessage(jobNode))
	res := result(t, env)
	require.Equal(t, PhaseWaiting, mid.Phase)
	require.Equal(t, 1, mid.Attempt)
	require.Equal(t, 2, mid.Polls)
	require.Equal(t, "PROCESSING", mid.LastStatus)
	require.Equal(t, "t1", mid.TaskID)
	require.NotNil(t, mid.NextPollTime)
	require.Equal(t, res.StartTime.Add(30*time.Second), *mid.NextPollTime)
}

func TestHTTPNode_ContinueAsNewCarriesState(t *testing.T) {
	env := newEnv(t)
	sent := mainResponse(env, `{"taskId": "t1"}`)
	statuses(env, "PROCESSING")
	node := patch(t, jobNode, `{"callback": {"pollsPerRun": 3, "maxPolls": 5}, "timeout": "1h"}`)
	env.ExecuteWorkflow(HTTPNodeName, node)
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var input json.RawMessage
	var st *State
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &input, &st))
	require.JSONEq(t, string(node), string(input))
	require.Len(t, *sent, 1)
	require.Equal(t, 1, st.Attempt)
	require.Equal(t, 3, st.Current.Polls)
	require.Equal(t, "t1", st.Current.TaskID)
	require.Equal(t, "PROCESSING", st.Current.LastStatus)
	require.Equal(t, st.StartTime.Add(time.Hour), st.Deadline)

	// The next run polls on from where the last stopped, without sending the
	// main request again (no SendRequest is mocked here).
	env2 := newEnv(t)
	env2.SetContinuedExecutionRunID(st.ContinuedFrom)
	polls := statuses(env2, "PROCESSING")
	env2.ExecuteWorkflow(HTTPNodeName, input, st)
	_, res := failure(t, env2, httpnode.ErrPollBudgetExceeded)
	require.Len(t, *polls, 2, "maxPolls counts across runs")
	require.Equal(t, 5, res.Polls)
	require.Equal(t, "t1", res.TaskID)
	require.Equal(t, st.StartTime, res.StartTime)
}

// A 5,000-poll wait ends correctly through a chain of runs, each bounded:
// every run continues as new after pollsPerRun polls with its state intact.
func TestHTTPNode_LongWaitIsBoundedPerRun(t *testing.T) {
	const total = 5000
	node := patch(t, jobNode, `{"callback": {"interval": "1s", "deadline": "48h"}}`)
	var st *State
	polls, runs := 0, 0
	for {
		runs++
		require.Less(t, runs, 100, "the chain of runs ends")
		env := newEnv(t)
		if st == nil {
			mainResponse(env, `{"taskId": "t1"}`)
		} else {
			env.SetContinuedExecutionRunID(st.ContinuedFrom)
		}
		runPolls := 0
		env.OnActivity(a.CheckStatus, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.CheckStatusInput) (activities.CheckStatusOutput, error) {
				polls++
				runPolls++
				if polls == total {
					return activities.CheckStatusOutput{Status: "SUCCESS", Outcome: activities.OutcomeSuccess, StatusCode: 200}, nil
				}
				return activities.CheckStatusOutput{Status: "PROCESSING", Outcome: activities.OutcomePending, StatusCode: 200}, nil
			})
		env.ExecuteWorkflow(HTTPNodeName, node, st)
		require.True(t, env.IsWorkflowCompleted())
		require.LessOrEqual(t, runPolls, httpnode.DefaultPollsPerRun, "run %d", runs)
		var can *workflow.ContinueAsNewError
		if errors.As(env.GetWorkflowError(), &can) {
			var input json.RawMessage
			st = nil
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &input, &st))
			require.Equal(t, polls, st.Current.Polls, "the poll count is carried")
			continue
		}
		res := result(t, env)
		require.Equal(t, httpnode.StatusSucceeded, res.Status)
		require.Equal(t, total, res.Polls)
		require.Equal(t, (total+httpnode.DefaultPollsPerRun-1)/httpnode.DefaultPollsPerRun, runs)
		return
	}
}

func TestHTTPNode_ExponentialBackoffAndHints(t *testing.T) {
	env := newEnv(t)
	mainResponse(env, `{"taskId": "t1"}`)
	var at []time.Time
	env.OnActivity(a.CheckStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CheckStatusInput) (activities.CheckStatusOutput, error) {
			at = append(at, env.Now())
			out := activities.CheckStatusOutput{Status: "PROCESSING", Outcome: activities.OutcomePending, StatusCode: 200}
			switch len(at) {
			case 3:
				out.NextInterval = httpnode.Duration(25 * time.Second) // the remote says when
			case 5:
				out = activities.CheckStatusOutput{Status: "SUCCESS", Outcome: activities.OutcomeSuccess, StatusCode: 200}
			}
			return out, nil
		})
	env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"interval": "10s", "backoff": "exponential", "maxInterval": "60s"}}`))
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Len(t, at, 5)
	var waits []time.Duration
	for i := 1; i < len(at); i++ {
		waits = append(waits, at[i].Sub(at[i-1]))
	}
	// 10s, 20s, 40s by backoff; then the hint (25s); then 60s (backoff capped)
	require.Equal(t, []time.Duration{20 * time.Second, 40 * time.Second, 25 * time.Second, 60 * time.Second}, waits)
	require.Equal(t, 10*time.Second, at[0].Sub(res.StartTime))
}

func TestHTTPNode_StuckDetection(t *testing.T) {
	t.Run("flagged, search attribute set, node goes on", func(t *testing.T) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterWorkflowWithOptions(HTTPNode, workflow.RegisterOptions{Name: HTTPNodeName})
		env.RegisterActivity(&activities.Activities{StuckAttribute: true})
		mainResponse(env, `{"taskId": "t1"}`)
		statuses(env, "QUEUED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCESS")
		upserts := 0
		env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
			v, ok := args.Get(0).(temporal.SearchAttributes).GetBool(stuckAttribute)
			require.True(t, ok && v)
			upserts++
		}).Return(nil)
		var mid Progress
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(ProgressQuery)
			require.NoError(t, err)
			require.NoError(t, v.Get(&mid))
		}, 45*time.Second)
		env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"pending": ["QUEUED", "RUNNING"], "stuckAfterPolls": 3}}`))
		res := result(t, env)
		require.Equal(t, httpnode.StatusSucceeded, res.Status, "a stuck node is flagged, not failed")
		require.True(t, res.Stuck)
		require.Equal(t, 1, upserts, "flagged once")
		require.True(t, mid.Stuck)
		require.NotNil(t, mid.StatusSince)
		require.Equal(t, res.StartTime.Add(20*time.Second), *mid.StatusSince, "RUNNING since the second poll")
	})
	t.Run("a status change resets the count", func(t *testing.T) {
		env := newEnv(t)
		mainResponse(env, `{"taskId": "t1"}`)
		statuses(env, "A", "A", "B", "B", "A", "A", "SUCCESS")
		env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"pending": ["A", "B"], "stuckAfterPolls": 3}}`))
		require.False(t, result(t, env).Stuck)
	})
	t.Run("failWhenStuck, by time", func(t *testing.T) {
		env := newEnv(t)
		mainResponse(env, `{"taskId": "t1"}`)
		statuses(env, "PROCESSING")
		env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"stuckAfter": "1m", "failWhenStuck": true}}`))
		app, res := failure(t, env, httpnode.ErrRemoteStuck)
		require.Contains(t, app.Message(), `callback: job t1 has reported "PROCESSING" for 7 polls (1m0s); it looks stuck`)
		require.Equal(t, 7, res.Polls)
	})
}

func TestHTTPNode_ActivityMode(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		env := newEnv(t)
		mainResponse(env, `{"taskId": "t1"}`)
		var got activities.PollUntilDoneInput
		env.OnActivity(a.PollUntilDone, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.PollUntilDoneInput) (activities.PollUntilDoneOutput, error) {
				got = in
				return activities.PollUntilDoneOutput{
					Last:  activities.CheckStatusOutput{Status: "SUCCESS", Outcome: activities.OutcomeSuccess, Response: &httpnode.Response{StatusCode: 200}},
					State: httpnode.PollState{Polls: 42, LastStatus: "SUCCESS"},
				}, nil
			})
		env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"mode": "activity"}}`))
		res := result(t, env)
		require.Equal(t, httpnode.StatusSucceeded, res.Status)
		require.Equal(t, 42, res.Polls)
		require.NotNil(t, res.CallbackResponse)
		require.Equal(t, "http://jobs.test/status/t1", got.Check.Request.Request().URL)
		require.Equal(t, res.StartTime.Add(httpnode.DefaultPollDeadline), got.Deadline)
	})
	t.Run("budget error keeps the state", func(t *testing.T) {
		env := newEnv(t)
		mainResponse(env, `{"taskId": "t1"}`)
		env.OnActivity(a.PollUntilDone, mock.Anything, mock.Anything).Return(activities.PollUntilDoneOutput{},
			temporal.NewNonRetryableApplicationError("callback: 9 polls made without a final status", httpnode.ErrPollBudgetExceeded, nil, httpnode.PollState{Polls: 9, LastStatus: "PROCESSING"}))
		env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": {"mode": "activity", "maxPolls": 9}}`))
		_, res := failure(t, env, httpnode.ErrPollBudgetExceeded)
		require.Equal(t, 9, res.Polls)
		require.Equal(t, "PROCESSING", res.CallbackStatus)
	})
}
