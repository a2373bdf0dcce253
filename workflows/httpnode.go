package workflows

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// Tries of one activity (the first included) before the attempt fails: a
// transient failure of the main request or of a poll is retried this often,
// with backoff from 1s up to 1m, or after the remote's Retry-After.
const (
	RequestTries = 5
	PollTries    = 3
)

var a *activities.Activities // activities are called through a nil pointer: checked at compile time

// HTTPNode runs one node: input is an httpnode.Node as JSON, decoded strictly
// (a parent workflow may pass the struct); state is nil except after
// continue-as-new. The result (an httpnode.Result as JSON) is returned on
// success, on skip and with onFailure "continue"; with "abort" a failed node
// fails the workflow with an ApplicationError of the failure's type whose
// details hold the Result.
//
// A node runs attempts until one succeeds or the retries run out. An
// attempt sends the main request and waits, long wait by long wait, for
// the job it started to end. Every long wait is made here, in this frame
// (see wait), and the result is returned by pointer: a waiting node's stack
// stays small.
func HTTPNode(ctx workflow.Context, input json.RawMessage, state *State) (*httpnode.Result, error) {
	r, err := newNodeRun(ctx, input, state)
	if err != nil {
		return nil, err
	}
	ctx = r.start(ctx) // skip, the node timeout, rendering: each may end the node
	for !r.over {
		err = r.sendMain(ctx) // unless a run before continue-as-new sent it
		for err == nil && r.st.Current.Waiting {
			var w *wait
			if w, err = r.nextWait(ctx); w == nil {
				continue // the wait is over, or err ends it
			}
			r.show(ctx)
			if w.until != nil {
				_, err = workflow.AwaitWithOptions(ctx, w.await, w.until)
			} else {
				err = w.future.Get(ctx, w.out)
			}
			err = r.afterWait(ctx, w, err)
		}
		if retry := r.attemptEnded(ctx, err); retry != nil {
			r.retried(ctx, retry.future.Get(ctx, nil))
		}
	}
	return r.res, r.err
}

// nodeRun is one workflow run of a node.
type nodeRun struct {
	decoded  httpnode.Node // as given
	node     httpnode.Node // defaults applied, the attempt's wait mode resolved
	input    json.RawMessage
	st       *State
	progress Progress
	// Once the run is over, res and err are what HTTPNode returns: the
	// node's result, and the workflow's error (a failure, a cancel, a
	// continue-as-new).
	res       *httpnode.Result
	err       error
	over      bool
	done      bool // the node is finishing: no callback is applied any more
	timedOut  bool
	stopTimer func() // cancels the node timeout's timer, so no timer outlives the node
	// The attempt's poll, once its wait began, and the polls (or push
	// waits) of this run, which decide when it continues as new.
	check    *pollCheck
	runPolls int
}

// newDecodeRules versions the refusal of nodes that give a field twice,
// nest too deeply or are too large (see ValidationError.NewRulesOnly); only
// such nodes ask for the version, so other nodes' histories carry no
// marker for it.
const newDecodeRules = "refuse-duplicate-fields"

// newNodeRun decodes the node, sets up the state of a new node run and the
// progress query.
func newNodeRun(ctx workflow.Context, input json.RawMessage, state *State) (*nodeRun, error) {
	node, err := httpnode.Decode(input)
	var verr *httpnode.ValidationError
	if errors.As(err, &verr) && verr.NewRulesOnly() && workflow.GetVersion(ctx, newDecodeRules, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		err = nil // started before these rules: it runs as it did then (a field given twice: the last wins)
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("node refused: invalid", "error", err.Error())
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidNode, nil)
	}
	info := workflow.GetInfo(ctx)
	if state != nil && !state.trusted(info) {
		if info.ContinuedExecutionRunID == "" {
			return nil, temporal.NewNonRetryableApplicationError("HTTPNode takes one input, the node: a second input is the state a node carries across continue-as-new, and cannot be given when a node is started (start it with the node alone)", httpnode.ErrInvalidNode, nil)
		}
		state = nil // a cron run or a workflow retry: the node runs anew
	}
	if state == nil {
		state = &State{Attempt: 1, StartTime: workflow.Now(ctx), KeySeed: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID}
		if node.Timeout > 0 {
			state.Deadline = state.StartTime.Add(node.Timeout.D())
		}
	}
	r := &nodeRun{decoded: node, node: node.WithDefaultsFor(state.Current.WaitMode), input: input, st: state}
	r.progress = Progress{Phase: PhaseRequest, Attempt: state.Attempt}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return r.progress, nil }); err != nil {
		return nil, err
	}
	if cb := r.node.Callback; cb != nil && cb.Pushed() { // other nodes answer a callback as an unknown update
		if err := workflow.SetUpdateHandlerWithOptions(ctx, httpnode.CallbackUpdate, r.onCallback, workflow.UpdateHandlerOptions{Validator: r.validateCallback}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// start begins the node: a skipped node ends at once (notifying if asked),
// the node timeout's timer starts, and the node is rendered. Any of them
// may end the node (r.over).
func (r *nodeRun) start(ctx workflow.Context) workflow.Context {
	if r.node.RunStatus == httpnode.RunSkip {
		if r.node.Notify == nil || r.renderOnce(ctx) {
			r.finish(ctx, httpnode.StatusSkipped, nil)
		}
		return ctx
	}
	if ctx = r.startTimeout(ctx); !r.over {
		r.renderOnce(ctx)
	}
	return ctx
}

// startTimeout starts the node timeout's timer, which cancels the returned
// context when it fires; a timeout passed already ends the node.
func (r *nodeRun) startTimeout(ctx workflow.Context) workflow.Context {
	if r.st.Deadline.IsZero() {
		return ctx // no context of its own: memory saved per waiting node
	}
	remaining := r.st.Deadline.Sub(workflow.Now(ctx))
	if remaining <= 0 {
		r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
		return ctx
	}
	ctx, cancel := workflow.WithCancel(ctx)
	timerCtx, stopTimer := workflow.WithCancel(ctx)
	r.stopTimer = stopTimer
	workflow.Go(timerCtx, func(gctx workflow.Context) {
		timer := workflow.NewTimerWithOptions(gctx, remaining, workflow.TimerOptions{Summary: "node timeout " + r.node.Timeout.String()})
		if timer.Get(gctx, nil) == nil {
			r.timedOut = true
			cancel()
		}
	})
	return ctx
}

// attemptEnded ends the attempt that err ended (nil: it succeeded): the
// node finishes, continues as new, or waits to try again, the returned
// wait; nil once the run is over.
func (r *nodeRun) attemptEnded(ctx workflow.Context, err error) *wait {
	switch {
	case err == nil:
		r.finish(ctx, httpnode.StatusSucceeded, nil)
		return nil
	case isContinueAsNew(err):
		r.err, r.over = err, true
		return nil
	case r.timedOut, ctx.Err() != nil, toError(err).Type == httpnode.ErrInvalidNode: // a retry cannot help an invalid node
		r.ended(ctx, err)
		return nil
	}
	failure := r.recordFailure(ctx, err)
	if r.st.Attempt > *r.node.Retry.Count {
		r.finish(ctx, httpnode.StatusFailed, failure)
		return nil
	}
	interval := r.node.Retry.Interval.D()
	next := workflow.Now(ctx).Add(interval)
	r.progress = Progress{Phase: PhaseRetryWait, Attempt: r.st.Attempt, NextTryTime: &next, LastError: failure}
	r.show(ctx)
	workflow.GetLogger(ctx).Info("attempt failed; retrying", "attempt", r.st.Attempt, "errorType", failure.Type, "retryIn", interval.String())
	return timerWait(ctx, interval, fmt.Sprintf("retry %d of %d", r.st.Attempt, *r.node.Retry.Count))
}

// retried begins the next attempt once the wait before it passed (err:
// the node was cancelled or timed out meanwhile).
func (r *nodeRun) retried(ctx workflow.Context, err error) {
	if err != nil {
		r.ended(ctx, err)
		return
	}
	r.st.Attempt++
	r.st.Current = AttemptState{}
	r.node = r.decoded.WithDefaults() // the attempt's main response says the worker's default wait mode again
	r.check, r.runPolls = nil, 0
}

// ended finishes a node whose step failed with err: timed out, cancelled,
// or failed.
func (r *nodeRun) ended(ctx workflow.Context, err error) {
	switch {
	case r.timedOut:
		r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
	case ctx.Err() != nil:
		r.finish(ctx, httpnode.StatusCancelled, cancelledError()) // cancelled from outside
	default:
		r.finish(ctx, httpnode.StatusFailed, toError(err))
	}
}

// attempt is the current attempt's requests, ready to send.
func (r *nodeRun) attempt() httpnode.Attempt { return r.st.Rendered.ForAttempt(r.st.Attempt) }

// recordFailure adds the current attempt's outcome to the attempt log.
func (r *nodeRun) recordFailure(ctx workflow.Context, err error) *httpnode.Error {
	failure := toError(err)
	cur := &r.st.Current
	r.st.AttemptLog = append(r.st.AttemptLog, httpnode.AttemptOutcome{
		Attempt: r.st.Attempt, StatusCode: statusCode(cur.Response), TaskID: cur.TaskID,
		CallbackStatus: cur.LastStatus, Polls: cur.Polls, Error: failure, EndTime: workflow.Now(ctx),
	})
	return failure
}
