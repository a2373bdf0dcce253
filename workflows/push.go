package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// Pushed is the final status a callback delivered: with rules, the
// failWhen message that failed it, or the outputs of its success.
type Pushed struct {
	Status   string                     `json:"status"`
	Outcome  string                     `json:"outcome"`
	Response *httpnode.Response         `json:"response,omitempty"`
	Message  string                     `json:"message,omitempty"`
	Outputs  map[string]json.RawMessage `json:"outputs,omitempty"`
}

// maxDeliveries is how many delivery ids an attempt remembers.
const maxDeliveries = 32

// validateCallback refuses a delivery without changing the node: it is
// for another attempt or none, a duplicate, in conflict with the final
// status already applied, or unreadable.
func (r *nodeRun) validateCallback(_ workflow.Context, d httpnode.CallbackDelivery) error {
	cb, cur := r.node.Callback, &r.st.Current
	reject := func(typ, format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), typ, nil)
	}
	switch {
	case cb == nil || !cb.Pushed():
		return reject(httpnode.RejectNotExpected, "this node does not take pushed callbacks (its callback.mode is not push or push+poll)")
	case d.AttemptKey != r.st.idempotencyKey():
		return reject(httpnode.RejectStale, "this callback URL belongs to an attempt of the node that has ended")
	case slices.Contains(cur.Deliveries, d.DeliveryID):
		return reject(httpnode.RejectDuplicate, "delivery %s was applied already", d.DeliveryID)
	}
	status, err := httpnode.LookupBody(d.ContentType, []byte(d.Body), cb.PushStatusField)
	status = httpnode.ClipStatus(status)
	switch p := cur.Pushed; {
	case err != nil && !judgedPush(cb): // with rules, they read the body (JudgePush)
		return reject(httpnode.RejectUnreadable, "callback body: %v (the node reads the status at callback.pushStatusField %q)", err, cb.PushStatusField)
	case p != nil && p.Status == status:
		return reject(httpnode.RejectDuplicate, "final status %q was applied already", status)
	case p != nil:
		return reject(httpnode.RejectConflict, "the node already received the final status %q; %q was not applied", p.Status, status)
	case r.done:
		return reject(httpnode.RejectStale, "the node is finishing; this callback was not applied")
	}
	return nil
}

// onCallback applies a validated delivery: a pending status is progress, a
// final one ends the wait (see waitPush). It validates again: deliveries
// validated in the same workflow task are applied one after another, and
// the first final status wins.
func (r *nodeRun) onCallback(ctx workflow.Context, d httpnode.CallbackDelivery) (httpnode.CallbackAck, error) {
	if err := r.validateCallback(ctx, d); err != nil {
		return httpnode.CallbackAck{}, err
	}
	cb, cur := r.node.Callback, &r.st.Current
	status, _ := httpnode.LookupBody(d.ContentType, []byte(d.Body), cb.PushStatusField)
	status = httpnode.ClipStatus(status)
	outcome := httpnode.Judge(cb.Pending, cb.Success, status)
	var judged activities.JudgePushOutput
	if judgedPush(cb) {
		if err := r.judgePush(ctx, d, &judged); err != nil {
			return httpnode.CallbackAck{}, err
		}
		if err := r.validateCallback(ctx, d); err != nil { // another delivery may have been applied meanwhile
			return httpnode.CallbackAck{}, err
		}
		status, outcome = judged.Status, judged.Outcome
	}
	cur.Deliveries = append(cur.Deliveries, d.DeliveryID)
	if len(cur.Deliveries) > maxDeliveries {
		cur.Deliveries = cur.Deliveries[1:]
	}
	cur.Pushes++
	cur.Observe(status, 0, workflow.Now(ctx))
	workflow.GetLogger(ctx).Info("callback received", "status", status, "outcome", outcome, "pushes", cur.Pushes)
	if outcome == httpnode.OutcomePending {
		r.progress.LastStatus, r.progress.Pushes = status, cur.Pushes
		r.show(ctx)
		return httpnode.CallbackAck{Status: status}, nil
	}
	resp := &httpnode.Response{Body: d.Body, Headers: map[string]string{"Content-Type": d.ContentType}}
	cur.Pushed = &Pushed{Status: status, Outcome: outcome, Response: resp, Message: judged.Message, Outputs: judged.Outputs}
	return httpnode.CallbackAck{Status: status, Final: true}, nil
}

// judgedPush reports whether pushes are judged by the callback's rules.
func judgedPush(cb *httpnode.Callback) bool { return cb.Judged() || len(cb.FailWhen) > 0 }

// judgePush has the callback's rules judge d, in a local activity: no
// expression runs in workflow code.
func (r *nodeRun) judgePush(ctx workflow.Context, d httpnode.CallbackDelivery, out *activities.JudgePushOutput) error {
	cb, cur := r.node.Callback, &r.st.Current
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}, Summary: "judge the pushed callback",
	})
	return workflow.ExecuteLocalActivity(lctx, a.JudgePush, activities.JudgePushInput{
		ContentType: d.ContentType, Body: d.Body, Rules: cb.Request, PendingWhen: cb.PendingWhen, StatusField: cb.PushStatusField,
		Outputs: r.node.Outputs, Vars: activities.PollVars{Poll: cur.Pushes + 1, WaitSince: cur.PollDeadline.Add(-cb.Deadline.D())},
	}).Get(ctx, out)
}

// pushed ends the wait with the pushed final status.
func (r *nodeRun) pushed() error {
	cur := &r.st.Current
	p := cur.Pushed
	cur.CallbackResponse, cur.Waiting = p.Response, false
	switch {
	case p.Outcome == httpnode.OutcomeSuccess:
		cur.Outputs = p.Outputs
		return nil
	case p.Message != "":
		return temporal.NewNonRetryableApplicationError(p.Message, httpnode.ErrResponseRule, nil)
	}
	return temporal.NewNonRetryableApplicationError(r.node.Callback.FailedMessage(cur.TaskID, p.Status, p.Response), httpnode.ErrCallbackStatus, nil)
}
