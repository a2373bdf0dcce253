package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/httpnode"
)

// Pushed is the final status a callback delivered.
type Pushed struct {
	Status   string             `json:"status"`
	Outcome  string             `json:"outcome"`
	Response *httpnode.Response `json:"response,omitempty"`
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
	case err != nil:
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
	cur.Deliveries = append(cur.Deliveries, d.DeliveryID)
	if len(cur.Deliveries) > maxDeliveries {
		cur.Deliveries = cur.Deliveries[1:]
	}
	cur.Pushes++
	cur.Observe(status, 0, workflow.Now(ctx))
	outcome := httpnode.Judge(cb.Pending, cb.Success, status)
	workflow.GetLogger(ctx).Info("callback received", "status", status, "outcome", outcome, "pushes", cur.Pushes)
	if outcome == httpnode.OutcomePending {
		r.progress.LastStatus, r.progress.Pushes = status, cur.Pushes
		return httpnode.CallbackAck{Status: status}, nil
	}
	resp := &httpnode.Response{Body: d.Body, Headers: map[string]string{"Content-Type": d.ContentType}}
	cur.Pushed = &Pushed{Status: status, Outcome: outcome, Response: resp}
	return httpnode.CallbackAck{Status: status, Final: true}, nil
}

// pushed ends the wait with the pushed final status.
func (r *nodeRun) pushed() error {
	cur := &r.st.Current
	p := cur.Pushed
	cur.CallbackResponse, cur.Waiting = p.Response, false
	if p.Outcome == httpnode.OutcomeSuccess {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(r.node.Callback.FailedMessage(cur.TaskID, p.Status, p.Response), httpnode.ErrCallbackStatus, nil)
}
