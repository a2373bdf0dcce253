package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// A second input at start would be taken as continue-as-new state (attempt
// 0, the idempotency key of its choosing): the node refuses it and sends
// nothing.
func TestHTTPNode_SecondInputAtStartIsRefused(t *testing.T) {
	for name, st := range map[string]*State{"empty": {}, "forged": {Attempt: 7, KeySeed: "other-node/run", Current: AttemptState{Waiting: true, StatusURL: "http://jobs.test/status/x"}}} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			sent := 0
			env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Maybe().Return(
				func(context.Context, activities.SendRequestInput) (activities.SendRequestOutput, error) {
					sent++
					return activities.SendRequestOutput{}, nil
				})
			env.ExecuteWorkflow(HTTPNodeName, []byte(jobNode), st)
			require.True(t, env.IsWorkflowCompleted())
			var app *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &app)
			require.Equal(t, httpnode.ErrInvalidNode, app.Type())
			require.Contains(t, app.Message(), "HTTPNode takes one input, the node")
			require.Zero(t, sent)
		})
	}
}

// A cron run or a workflow retry repeats the first run's inputs: a state
// among them was not written by the previous run, so the node runs anew.
func TestHTTPNode_StateOfAnotherRunIsIgnored(t *testing.T) {
	env := newEnv(t)
	env.SetContinuedExecutionRunID("the-previous-run")
	sent := mainResponse(env, `{"taskId": "t1"}`)
	statuses(env, "SUCCESS")
	env.ExecuteWorkflow(HTTPNodeName, []byte(jobNode), &State{Attempt: 7, KeySeed: "other-node/run", ContinuedFrom: "some-other-run"})
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 1, res.Attempts)
	require.Len(t, *sent, 1, "the main request is sent: the node started anew")
	require.Equal(t, (&State{KeySeed: "default-test-workflow-id/default-test-run-id", Attempt: 1}).idempotencyKey(), (*sent)[0].IdempotencyKey)
}

// A state written before ContinuedFrom existed is taken in a plain
// continue-as-new, so nodes waiting across an upgrade go on waiting.
func TestHTTPNode_StateWithoutContinuedFromIsTakenAfterContinueAsNew(t *testing.T) {
	env := newEnv(t)
	env.SetContinuedExecutionRunID("the-previous-run")
	statuses(env, "SUCCESS") // no main request is mocked: the wait goes on
	st := &State{Attempt: 1, KeySeed: "default-test-workflow-id/first-run", Current: AttemptState{
		TaskID: "t1", Waiting: true, StatusURL: "http://jobs.test/status/t1", PollDeadline: env.Now().Add(time.Hour),
	}}
	st.Current.Polls = 4
	env.ExecuteWorkflow(HTTPNodeName, []byte(jobNode), st)
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 5, res.Polls)
}

// A node that gives a field twice is refused now; the recorded history of
// one started before (retry_then_success.json) still replays, the last
// field winning.
func TestHTTPNode_DuplicateFieldsAreRefused(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(HTTPNodeName, []byte(`{"request": {"url": "http://jobs.test/a", "url": "http://jobs.test/b"}}`))
	require.True(t, env.IsWorkflowCompleted())
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, httpnode.ErrInvalidNode, app.Type())
	require.Contains(t, app.Message(), "request.url: is given twice")
}
