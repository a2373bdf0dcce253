package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// The way a node waits: its own callback.mode, else the worker's default
// as the main response recorded it; auto resolved from the interval and
// budgets. Each case names the activity the wait must run as.
func TestHTTPNode_WaitModeFromNodeOrWorker(t *testing.T) {
	for _, c := range []struct {
		name, callback, workerMode string
		asked                      bool   // SendRequest is asked for the worker's default
		want                       string // PollUntilDone (activity), PollByRetry (retry) or CheckStatus (timer)
	}{
		{"no mode, no worker default", `{}`, "", true, "CheckStatus"},
		{"no mode, worker default activity", `{}`, httpnode.ModeActivity, true, "PollUntilDone"},
		{"no mode, worker default retry", `{}`, httpnode.ModeRetry, true, "PollByRetry"},
		{"no mode, worker default auto, 10s interval", `{}`, httpnode.ModeAuto, true, "PollUntilDone"},
		{"no mode, worker default auto, 10m interval", `{"interval": "10m"}`, httpnode.ModeAuto, true, "PollByRetry"},
		{"no mode, worker default auto, 2 polls at most", `{"maxPolls": 2}`, httpnode.ModeAuto, true, "CheckStatus"},
		{"the node's mode wins over the worker's", `{"mode": "timer"}`, httpnode.ModeRetry, false, "CheckStatus"},
		{"the node's auto", `{"mode": "auto", "interval": "10m"}`, httpnode.ModeActivity, false, "PollByRetry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t)
			var asked []bool
			env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.SendRequestInput) (activities.SendRequestOutput, error) {
					asked = append(asked, in.WaitMode)
					out := activities.SendRequestOutput{Response: httpnode.Response{StatusCode: 200, Body: `{"taskId": "t1"}`}}
					if in.WaitMode {
						out.WaitMode = c.workerMode // as the worker's SendRequest answers
					}
					return out, nil
				})
			ran := waitActivities(env)
			env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"callback": `+c.callback+`}`))
			res := result(t, env)
			require.Equal(t, httpnode.StatusSucceeded, res.Status)
			require.Equal(t, []bool{c.asked}, asked)
			require.Equal(t, []string{c.want}, *ran)
		})
	}
}

// A retried attempt asks again: each attempt's wait takes the worker's
// default of its own main response.
func TestHTTPNode_WaitModeAskedPerAttempt(t *testing.T) {
	env := newEnv(t)
	modes := []string{httpnode.ModeRetry, httpnode.ModeActivity}
	env.OnActivity(a.SendRequest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendRequestInput) (activities.SendRequestOutput, error) {
			require.True(t, in.WaitMode)
			mode := modes[0]
			modes = modes[1:]
			return activities.SendRequestOutput{Response: httpnode.Response{StatusCode: 200, Body: `{"taskId": "t1"}`}, WaitMode: mode}, nil
		})
	var ran []string
	env.OnActivity(a.PollByRetry, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.PollUntilDoneInput) (activities.PollUntilDoneOutput, error) {
			ran = append(ran, "PollByRetry")
			return activities.PollUntilDoneOutput{Last: activities.CheckStatusOutput{Status: "FAILED", Outcome: activities.OutcomeFailure}}, nil
		})
	env.OnActivity(a.PollUntilDone, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.PollUntilDoneInput) (activities.PollUntilDoneOutput, error) {
			ran = append(ran, "PollUntilDone")
			return activities.PollUntilDoneOutput{Last: activities.CheckStatusOutput{Status: "SUCCESS", Outcome: activities.OutcomeSuccess}}, nil
		})
	env.ExecuteWorkflow(HTTPNodeName, patch(t, jobNode, `{"retry": {"count": 1, "interval": "1m"}}`))
	res := result(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, []string{"PollByRetry", "PollUntilDone"}, ran)
}

// waitActivities answers every way of polling with a success at the first
// poll and records which ran.
func waitActivities(env *testsuite.TestWorkflowEnvironment) *[]string {
	var ran []string
	done := activities.CheckStatusOutput{Status: "SUCCESS", Outcome: activities.OutcomeSuccess, StatusCode: 200, Response: &httpnode.Response{StatusCode: 200}}
	env.OnActivity(a.CheckStatus, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.CheckStatusInput) (activities.CheckStatusOutput, error) {
			ran = append(ran, "CheckStatus")
			return done, nil
		}).Maybe()
	for name, fn := range map[string]any{"PollUntilDone": a.PollUntilDone, "PollByRetry": a.PollByRetry} {
		env.OnActivity(fn, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.PollUntilDoneInput) (activities.PollUntilDoneOutput, error) {
				ran = append(ran, name)
				return activities.PollUntilDoneOutput{Last: done, State: httpnode.PollState{Polls: 1, LastStatus: "SUCCESS"}}, nil
			}).Maybe()
	}
	return &ran
}
