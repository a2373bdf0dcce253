package workflows

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// sendMain sends the attempt's main request, unless a run before
// continue-as-new did. For a node with a callback it then reads the task
// id, finds where to poll, and begins the wait (State.Current.Waiting); a
// node without one is done once the request succeeded.
func (r *nodeRun) sendMain(ctx workflow.Context) error {
	cur := &r.st.Current
	if cur.Waiting || cur.StatusURL != "" {
		return nil
	}
	r.progress = Progress{Phase: PhaseRequest, Attempt: r.st.Attempt}
	r.show(ctx)
	if r.st.SentTime.IsZero() {
		r.st.SentTime = workflow.Now(ctx)
	}
	req, err := r.attempt().Main()
	if err != nil {
		return invalidParameter(err)
	}
	sent := req.Request()
	actx := workflow.WithActivityOptions(ctx, activityOptions(sent, sent.Method+" "+httpnode.RedactURL(sent.URL), RequestTries))
	out := &activities.SendRequestOutput{}
	err = workflow.ExecuteActivity(actx, a.SendRequest, activities.SendRequestInput{
		Request: req, IdempotencyKey: r.st.idempotencyKey(), Secrets: r.st.Rendered.SecretUses(),
		WaitMode: r.decoded.Callback != nil && r.decoded.Callback.Mode == "",
		Outputs:  r.mainOutputs(), Expressions: r.node.Expressions(),
	}).Get(ctx, out)
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() && app.Details(out) == nil {
			cur.Sent, cur.Response = &out.Sent, &out.Response
		}
		return err
	}
	cur.Sent, cur.Response, cur.Outputs = &out.Sent, &out.Response, out.Outputs
	if r.node.Callback == nil {
		return nil
	}
	if out.WaitMode != "" { // the worker's default, recorded with the response
		cur.WaitMode, r.node = out.WaitMode, r.decoded.WithDefaultsFor(out.WaitMode)
	}
	return r.beginWait(ctx, sent.URL, out.Response)
}

// mainOutputs are the outputs the main response gives: a node's without a
// callback.
func (r *nodeRun) mainOutputs() map[string]string {
	if r.node.Callback != nil {
		return nil
	}
	return r.node.Outputs
}

// beginWait reads where and how the attempt waits from the main response:
// the task id, and the status URL (a 202's Location in location mode).
func (r *nodeRun) beginWait(ctx workflow.Context, requestURL string, resp httpnode.Response) error {
	cb, cur := r.node.Callback, &r.st.Current
	taskID, err := httpnode.Lookup(resp.BodyBytes(), cb.TaskIDField)
	if err == nil && len(taskID) > httpnode.MaxTaskIDBytes {
		err = fmt.Errorf("the task id at %q is %d bytes, more than the %d a task id may have", cb.TaskIDField, len(taskID), httpnode.MaxTaskIDBytes)
		taskID = ""
	}
	switch cb.Mode {
	case httpnode.ModeLocation:
		loc := resp.Headers["Location"]
		if resp.StatusCode != http.StatusAccepted || loc == "" {
			return nil // the remote answered at once
		}
		statusURL, err := resolveLocation(requestURL, loc)
		if err != nil {
			return temporal.NewNonRetryableApplicationError("request: the 202 response's Location "+err.Error(), httpnode.ErrCallbackResponse, nil)
		}
		cur.TaskID, cur.StatusURL = taskID, statusURL
		cur.NextHint = httpnode.Duration(httpnode.ParseRetryAfter(resp.Headers["Retry-After"], workflow.Now(ctx)))
	case httpnode.ModePush:
		cur.TaskID = taskID // optional: the push says when the job is done
	default:
		if err != nil {
			hint := " (set callback.taskIdField to the field that holds the task id)"
			if resp.Truncated {
				hint = resp.CutHint("request")
			}
			return temporal.NewNonRetryableApplicationError("request: no task id in the main response: "+err.Error()+hint+resp.Excerpt(), httpnode.ErrMissingTaskID, nil)
		}
		statusURL, err := httpnode.StatusURL(r.st.Rendered.Callback.URL, taskID)
		if err != nil {
			return temporal.NewNonRetryableApplicationError("callback.url: "+err.Error(), httpnode.ErrMissingTaskID, nil)
		}
		cur.TaskID, cur.StatusURL = taskID, statusURL
	}
	cur.Waiting = true
	cur.PollDeadline = workflow.Now(ctx).Add(cb.Deadline.D())
	return nil
}

// resolveLocation resolves a Location header against the request's URL.
func resolveLocation(base, loc string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u, err := b.Parse(loc)
	if err != nil || !httpnode.IsAbsoluteHTTP(u) {
		return "", fmt.Errorf("%q is not an http(s) URL", httpnode.RedactURL(loc))
	}
	return u.String(), nil
}

// activityOptions are the options of an activity sending req, retried up
// to tries times.
func activityOptions(req httpnode.Request, summary string, tries int32) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		// The HTTP client enforces the per-try timeout; the margin covers
		// building the request and reading the body.
		StartToCloseTimeout: req.Timeout.D() + 10*time.Second,
		// the activity heartbeats while its request is in flight: a try lost
		// with its worker is retried within this (a local activity has none)
		HeartbeatTimeout: activities.RequestHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: tries,
		},
		Summary: summary,
	}
}
