package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// NotifyTries bounds the tries of a completion notification (429 and 5xx
// are retried with backoff); the cancel request is tried once.
const NotifyTries = 5

// finish ends the node: it calls the remote's cancel request when the node
// was cancelled or timed out, sends the completion notification, builds the
// result and decides, by onFailure, whether the workflow completes with it
// or fails carrying it. A cancelled node ends as cancelled, the result in
// the cancellation's details. The run is over: r.res and r.err are set.
func (r *nodeRun) finish(ctx workflow.Context, status string, failure *httpnode.Error) {
	r.done, r.over = true, true
	if r.stopTimer != nil {
		r.stopTimer()
	}
	// the node's context may be cancelled: these calls run regardless
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	cur := r.st.Current
	r.res = &httpnode.Result{
		Status: status, Name: r.node.Name, Attempts: r.st.Attempt, AttemptLog: r.st.AttemptLog,
		Request: cur.Sent, Response: cur.Response, TaskID: cur.TaskID,
		CallbackStatus: cur.LastStatus, Polls: cur.Polls, Pushes: cur.Pushes, CallbackResponse: cur.CallbackResponse, Stuck: cur.Stuck,
		Error: failure, StartTime: r.st.StartTime,
	}
	res := r.res
	res.SkippedFields = r.node.SkippedFields
	if status == httpnode.StatusSucceeded {
		res.Outputs = cur.Outputs
	}
	if rd := r.st.Rendered; rd != nil {
		res.Params = rd.Params
		if !rd.ScheduledTime.IsZero() { // a node without references is not rendered
			res.ScheduledTime = &rd.ScheduledTime
		}
	}
	if status == httpnode.StatusSkipped {
		res.Attempts = 0
	}
	if status == httpnode.StatusCancelled || status == httpnode.StatusTimedOut {
		res.Cancel = r.cancelJob(dctx)
	}
	res.EndTime = workflow.Now(ctx)
	if nt := r.node.Notify; nt != nil && nt.Notifies(status) {
		res.Notification = r.notify(dctx, *res)
	}
	// the result is the workflow's output, or its failure's details
	httpnode.FitBudget(res, httpnode.PayloadBudget, res.Response, res.CallbackResponse)
	r.progress = Progress{Phase: PhaseDone, Status: status, Attempt: res.Attempts, Polls: cur.Polls, Pushes: cur.Pushes, LastStatus: cur.LastStatus, TaskID: cur.TaskID}
	r.show(ctx)
	workflow.GetLogger(ctx).Info("node finished", "status", status, "attempts", res.Attempts, "polls", cur.Polls)
	switch {
	case status == httpnode.StatusCancelled:
		r.err = temporal.NewCanceledError(*res)
	case failure != nil && r.node.OnFailure != httpnode.OnFailureContinue:
		r.err = temporal.NewNonRetryableApplicationError(failure.Message, failure.Type, nil, *res)
	}
}

// cancelJob calls the node's cancel request once, when the main request of
// the current attempt was answered; nil when the node has none.
func (r *nodeRun) cancelJob(ctx workflow.Context) *httpnode.CallOutcome {
	cur := r.st.Current
	if r.st.Rendered == nil || r.st.Rendered.Cancel == nil {
		return nil
	}
	switch {
	case cur.Response == nil:
		return skipped("the main request was not answered, so there is no job to cancel")
	case cur.TaskID == "" && r.st.Rendered.Cancel.Mentions(httpnode.TaskIDRef):
		return skipped("the cancel request needs ${taskId}, and the main response had none")
	}
	req, err := r.attempt().Cancel(cur.TaskID)
	if err != nil {
		return failed(invalidParameter(err))
	}
	sent := req.Request()
	actx := workflow.WithActivityOptions(ctx, activityOptions(sent, "cancel the job: "+sent.Method+" "+httpnode.RedactURL(sent.URL), 1))
	var out activities.SendRequestOutput
	if err := workflow.ExecuteActivity(actx, a.CancelJob, activities.CancelJobInput{Request: *req}).Get(ctx, &out); err != nil {
		workflow.GetLogger(ctx).Warn("cancel request failed", "error", err)
		return failed(err)
	}
	return &httpnode.CallOutcome{Status: httpnode.CallSent, StatusCode: out.Response.StatusCode}
}

// notify sends the TaskFinish document of res, retried on 429 and 5xx. Its
// failure is reported, never raised: it does not change the node's result.
func (r *nodeRun) notify(ctx workflow.Context, res httpnode.Result) *httpnode.CallOutcome {
	nt := r.node.Notify
	if r.st.Rendered == nil || r.st.Rendered.Notify == nil {
		return skipped("the node ended before its notify request was rendered")
	}
	req, err := r.attempt().Notify(res.TaskID)
	if err != nil {
		return failed(invalidParameter(err))
	}
	return sendNotification(ctx, r.st.KeySeed, activities.NotifyInput{Request: *req, Format: nt.Format, Document: r.taskFinish(ctx, res)})
}

// sendNotification POSTs a completion document, retried on 429 and 5xx;
// its webhook-id is derived from seed (the run's), the same on every try
// and replay. A failure is reported, never raised.
func sendNotification(ctx workflow.Context, seed string, in activities.NotifyInput) *httpnode.CallOutcome {
	sent := in.Request.Request()
	ao := activityOptions(sent, "notify: POST "+httpnode.RedactURL(sent.URL), NotifyTries)
	sum := sha256.Sum256([]byte(seed + "/notify"))
	in.MessageID = "msg_" + hex.EncodeToString(sum[:12])
	var out activities.NotifyOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, ao), a.Notify, in).Get(ctx, &out); err != nil {
		workflow.GetLogger(ctx).Warn("notification failed", "error", err)
		return failed(err)
	}
	return &httpnode.CallOutcome{Status: httpnode.CallSent, StatusCode: out.StatusCode}
}

// taskFinish is the completion document of a node run.
func (r *nodeRun) taskFinish(ctx workflow.Context, res httpnode.Result) httpnode.TaskFinish {
	info := workflow.GetInfo(ctx)
	nt := r.node.Notify
	job := httpnode.TaskFinishJob{
		Code: "Success", State: httpnode.TaskFinishState(res.Status), JobID: info.WorkflowExecution.ID,
		CreationTime: rfc3339(res.StartTime), StartTime: rfc3339(r.st.SentTime), EndTime: rfc3339(res.EndTime),
		Input:    httpnode.TaskFinishInput{Name: r.node.Name, Method: r.node.Request.Method},
		Output:   httpnode.TaskFinishOutput{TaskID: res.TaskID, RemoteStatus: res.CallbackStatus, Attempts: res.Attempts, Polls: res.Polls},
		UserData: nt.UserData,
	}
	if res.Error != nil {
		job.Code, job.Message = res.Error.Type, res.Error.Message
	}
	if res.Request != nil {
		job.Input.Method, job.Input.URL = res.Request.Method, httpnode.RedactURL(res.Request.URL)
	}
	if res.Response != nil {
		job.Output.StatusCode = res.Response.StatusCode
	}
	job.Tags = nt.TaskFinishTags()
	run := httpnode.TaskFinishRunInfo{
		RunID: info.WorkflowExecution.RunID, WorkflowID: info.WorkflowExecution.ID, WorkflowType: info.WorkflowType.Name, Name: r.node.Name, NodeName: r.node.Name,
	}
	if in, parent := r.node.InFlow, info.ParentWorkflowExecution; in != nil && parent != nil {
		run = httpnode.TaskFinishRunInfo{RunID: parent.RunID, WorkflowID: parent.ID, WorkflowType: FlowName, WorkflowName: in.Flow, Name: in.Node, NodeName: r.node.Name}
	}
	return httpnode.TaskFinish{EventName: httpnode.TaskFinishEvent, JobsDetail: job, Workflow: run}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func skipped(why string) *httpnode.CallOutcome {
	return &httpnode.CallOutcome{Status: httpnode.CallSkipped, Error: &httpnode.Error{Type: "Skipped", Message: why}}
}

func failed(err error) *httpnode.CallOutcome {
	return &httpnode.CallOutcome{Status: httpnode.CallFailed, Error: toError(err)}
}
