package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/httpnode"
)

// CallbackUpdate is the update a callback receiver delivers a pushed status
// with. It is API: never rename.
const CallbackUpdate = "callback"

// Reasons a pushed callback is refused, as the ApplicationError type the
// update fails with (no history is written for a refused callback). They
// are API: the receiver answers by them.
const (
	RejectNotExpected = "CallbackNotExpected" // the node is not in a push mode
	RejectStale       = "CallbackStale"       // the URL belongs to an attempt that has ended
	RejectDuplicate   = "CallbackDuplicate"   // this delivery, or this final status, was applied already
	RejectConflict    = "CallbackConflict"    // another final status was applied already
	RejectUnreadable  = "CallbackUnreadable"  // the body holds no status at the configured field
)

// CallbackDelivery is one pushed callback as the receiver forwards it: the
// attempt its URL was minted for, an id to drop duplicates by (the
// webhook-id, else a hash of the body), and the body (capped).
type CallbackDelivery struct {
	AttemptKey  string `json:"attemptKey"`
	DeliveryID  string `json:"deliveryId"`
	ContentType string `json:"contentType,omitempty"`
	Body        string `json:"body"`
}

// CallbackAck is the node's answer to an applied callback: the status it
// read and whether it ended the wait.
type CallbackAck struct {
	Status string `json:"status"`
	Final  bool   `json:"final"`
}

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
func (r *nodeRun) validateCallback(_ workflow.Context, d CallbackDelivery) error {
	cb, cur := r.node.Callback, &r.st.Current
	reject := func(typ, format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), typ, nil)
	}
	switch {
	case cb == nil || !cb.Pushed():
		return reject(RejectNotExpected, "this node does not take pushed callbacks (its callback.mode is not push or push+poll)")
	case d.AttemptKey != r.st.idempotencyKey():
		return reject(RejectStale, "this callback URL belongs to an attempt of the node that has ended")
	case slices.Contains(cur.Deliveries, d.DeliveryID):
		return reject(RejectDuplicate, "delivery %s was applied already", d.DeliveryID)
	}
	status, err := httpnode.LookupBody(d.ContentType, []byte(d.Body), cb.PushStatusField)
	status = httpnode.ClipStatus(status)
	switch p := cur.Pushed; {
	case err != nil:
		return reject(RejectUnreadable, "callback body: %v (the node reads the status at callback.pushStatusField %q)", err, cb.PushStatusField)
	case p != nil && p.Status == status:
		return reject(RejectDuplicate, "final status %q was applied already", status)
	case p != nil:
		return reject(RejectConflict, "the node already received the final status %q; %q was not applied", p.Status, status)
	case r.done:
		return reject(RejectStale, "the node is finishing; this callback was not applied")
	}
	return nil
}

// onCallback applies a validated delivery: a pending status is progress, a
// final one ends the wait (see waitPush). It validates again: deliveries
// validated in the same workflow task are applied one after another, and
// the first final status wins.
func (r *nodeRun) onCallback(ctx workflow.Context, d CallbackDelivery) (CallbackAck, error) {
	if err := r.validateCallback(ctx, d); err != nil {
		return CallbackAck{}, err
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
		return CallbackAck{Status: status}, nil
	}
	resp := &httpnode.Response{Body: d.Body, Headers: map[string]string{"Content-Type": d.ContentType}}
	cur.Pushed = &Pushed{Status: status, Outcome: outcome, Response: resp}
	return CallbackAck{Status: status, Final: true}, nil
}

// waitPush waits for the remote to push a final status, until the poll
// deadline; with push+poll it polls at the callback's interval meanwhile,
// and whichever sees a final status first wins.
func (r *nodeRun) waitPush(ctx workflow.Context) error {
	check, err := r.pollCheck()
	if err != nil {
		return err
	}
	for runPolls := 0; ; runPolls++ {
		if r.st.Current.Pushed != nil {
			return r.pushedOutcome()
		}
		wait, err := r.nextWait(ctx, check, runPolls)
		if err != nil {
			return err
		}
		got, err := r.awaitPush(ctx, wait, check)
		if err != nil {
			return err
		}
		if got || r.node.Callback.Mode == httpnode.ModePush {
			continue
		}
		if done, err := r.pollOnce(ctx, check); done || err != nil {
			return err
		}
	}
}

// awaitPush waits until a final status is pushed or wait passes.
func (r *nodeRun) awaitPush(ctx workflow.Context, wait time.Duration, check *pollCheck) (bool, error) {
	summary := "wait for the pushed callback"
	if r.node.Callback.Mode == httpnode.ModePushPoll {
		summary += ", then " + check.target(r.st.Current.Polls+1)
	}
	return workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: summary}},
		func() bool { return r.st.Current.Pushed != nil })
}

// pushedOutcome ends the wait with the pushed final status.
func (r *nodeRun) pushedOutcome() error {
	cur := &r.st.Current
	p := cur.Pushed
	cur.CallbackResponse = p.Response
	if p.Outcome == httpnode.OutcomeSuccess {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(r.node.Callback.FailedMessage(cur.TaskID, p.Status, p.Response), httpnode.ErrCallbackStatus, nil)
}
