package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
	"github.com/httpnode/httpnode/internal/callbackurl"
	"github.com/httpnode/httpnode/internal/outbound"
	"github.com/httpnode/httpnode/internal/secrets"
)

// Activities are the node's activities. Register a value built by New on the
// worker; workflows call the methods through a nil *Activities.
type Activities struct {
	Clients *ClientFactory
	// Secrets are the secrets nodes may use, each for the hosts it is
	// bound to; the worker's own keys are not among them.
	Secrets *secrets.Nodes
	// Params are the worker's global parameters; Zone the default time
	// zone of time macros (UTC when nil).
	Params map[string]string
	Zone   *time.Location
	// StuckAttribute says the namespace has the HttpNodeStuck (Bool) search
	// attribute; the worker checks at start.
	StuckAttribute bool
	// Callbacks mints the ${callbackUrl} of push nodes; nil when the worker
	// serves no callback receiver.
	Callbacks *callbackurl.Minter
	// Bodies is the worker's body store (--body-store); nil when it has
	// none.
	Bodies *bodystore.Store
	// DefaultWaitMode is how a node whose callback names no mode waits
	// (worker --default-wait-mode; empty or timer: timer mode). SendRequest
	// answers it, so that the mode of every wait is in history.
	DefaultWaitMode string
}

// StuckSearchAttribute is the Bool search attribute set on stuck nodes when
// the namespace defines it:
//
//	temporal operator search-attribute create --name HttpNodeStuck --type Bool
const StuckSearchAttribute = "HttpNodeStuck"

// New returns Activities with a client factory for cfg and the given node
// secrets (HTTPNODE_SECRET_* with their bindings when nil), no global
// parameters and UTC.
func New(nodeSecrets *secrets.Nodes, cfg outbound.Config) *Activities {
	if nodeSecrets == nil {
		nodeSecrets = &secrets.Nodes{}
	}
	return &Activities{Clients: NewClientFactory(cfg), Secrets: nodeSecrets}
}

// SendRequestInput is one attempt's main request. Request has its defaults
// applied; IdempotencyKey is the same for every try of the attempt.
type SendRequestInput struct {
	Request        httpnode.Ready `json:"request"`
	IdempotencyKey string         `json:"idempotencyKey,omitempty"`
	// Secrets are every secret the node uses (see Rendered.SecretUses):
	// each is checked for its destination before the main request is sent,
	// so that a node whose later requests could not be sent sends nothing.
	Secrets []httpnode.SecretUse `json:"secrets,omitempty"`
	// WaitMode asks for the worker's default wait mode: the node has a
	// callback that names no mode.
	WaitMode bool `json:"waitMode,omitempty"`
	// Outputs are the node's outputs, computed over the response when the
	// node has no callback.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Expressions are every expression of the node: each is compiled
	// before the main request is sent, so that a node whose rule could
	// not be evaluated later sends nothing.
	Expressions []httpnode.ExprSpec `json:"expressions,omitempty"`
}

// SendRequestOutput is the request as sent (secrets masked) and the
// response, and the worker's default wait mode when asked and not timer.
type SendRequestOutput struct {
	Sent     httpnode.SentRequest `json:"sent"`
	Response httpnode.Response    `json:"response"`
	WaitMode string               `json:"waitMode,omitempty"`
	// Outputs are the node's outputs (see SendRequestInput.Outputs).
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
}

// Header names of the idempotency key.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTaskGUID       = "X-Http-Task-Guid"
)

// SendRequest sends the node's main request once. A status outside the
// success rule fails with an HTTPStatus error whose details are the
// SendRequestOutput; see checkStatus and transportError for retryability.
func (a *Activities) SendRequest(ctx context.Context, in SendRequestInput) (SendRequestOutput, error) {
	r := in.Request.Request()
	opts := sendOptions{idempotencyKey: in.IdempotencyKey, msgID: in.IdempotencyKey, store: true,
		readsBody: r.SuccessWhen != "" || len(r.FailWhen) > 0 || len(in.Outputs) > 0}
	opts.retry = activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
	if a.Callbacks != nil && activity.IsActivity(ctx) {
		opts.callbackURL, opts.token = a.Callbacks.URL(activity.GetInfo(ctx).WorkflowExecution.ID, in.IdempotencyKey)
	}
	if err := a.CheckSecrets(in.Secrets); err != nil {
		return SendRequestOutput{}, err
	}
	if err := httpnode.CheckExprs(in.Expressions); err != nil {
		return SendRequestOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidNode, nil)
	}
	defer heartbeatWhile(ctx)()
	ex, err := a.exchange(ctx, "request", r, opts)
	if err != nil {
		return SendRequestOutput{}, err
	}
	defer ex.done()
	out := SendRequestOutput{Sent: ex.Sent, Response: ex.Response}
	if in.WaitMode && a.DefaultWaitMode != httpnode.ModeTimer {
		out.WaitMode = a.DefaultWaitMode
	}
	logExchange(ctx, "request sent", ex)
	err = judgeMain(ctx, in, ex, &out)
	return out, err
}

// CheckStatusInput is one poll: Request.URL is the status URL with the task
// id in place; the remote status is read at StatusField and judged against
// Pending and Success.
type CheckStatusInput struct {
	Request     httpnode.Ready `json:"request"`
	StatusField string         `json:"statusField"`
	Pending     []string       `json:"pending"`
	Success     []string       `json:"success"`
	// IntervalField, when set, is where the response says when to poll next.
	IntervalField string `json:"intervalField,omitempty"`
	// Location polls a 202 Accepted operation: 202 is pending, any other
	// status is final, a success when it matches Request.SuccessStatus.
	Location bool `json:"location,omitempty"`
	// PendingWhen, with Request.SuccessWhen, judges the job instead of
	// Pending and Success (see httpnode.Callback.PendingWhen); Judged says
	// they do.
	PendingWhen string `json:"pendingWhen,omitempty"`
	Judged      bool   `json:"judged,omitempty"`
	// Outputs are computed over the final poll's response, when the job
	// succeeded.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Vars are the poll's number and the wait's start, for expressions.
	Vars PollVars `json:"vars,omitzero"`
}

// Poll outcomes.
const (
	OutcomePending = httpnode.OutcomePending
	OutcomeSuccess = httpnode.OutcomeSuccess
	OutcomeFailure = httpnode.OutcomeFailure
)

// CheckStatusOutput is one poll's result. Response is kept only when the
// status is final, so that long waits do not fill history with bodies.
type CheckStatusOutput struct {
	Status     string             `json:"status"`
	Outcome    string             `json:"outcome"`
	StatusCode int                `json:"statusCode"`
	Response   *httpnode.Response `json:"response,omitempty"`
	// Outputs are the node's outputs, computed over a final success.
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
	// NextInterval is the remote's hint for the next poll (Retry-After or
	// IntervalField); 0 without one.
	NextInterval httpnode.Duration `json:"nextInterval,omitempty"`
}

// CheckStatus polls the status URL once. A response outside the success rule
// (2xx by default) fails like the main request; a body that is not JSON or
// lacks the status field fails with CallbackResponse. A remote failure status
// is not an error here: it is reported with outcome "failure".
func (a *Activities) CheckStatus(ctx context.Context, in CheckStatusInput) (CheckStatusOutput, error) {
	r := in.Request.Request()
	ex, err := a.exchange(ctx, "callback", r, sendOptions{store: true, readsBody: true})
	if err != nil {
		return CheckStatusOutput{}, err
	}
	defer ex.done()
	logExchange(ctx, "status checked", ex)
	if in.Location {
		return locationOutcome(r, ex)
	}
	var vars map[string]any
	if in.Judged || len(r.FailWhen) > 0 || len(in.Outputs) > 0 {
		vars = exprVars(ex, &in.Vars)
		if err := failWhen(ctx, "callback", httpnode.ExprPoll, r, ex, vars, ex.Response); err != nil {
			return CheckStatusOutput{}, err
		}
	}
	if err := checkStatus("callback", r, ex, ex.Response); err != nil {
		return CheckStatusOutput{}, err
	}
	if in.Judged {
		return judgedPoll(ctx, in, r, ex, vars)
	}
	status, err := httpnode.Lookup(ex.body, in.StatusField)
	if err != nil {
		hint := fmt.Sprintf(" (set callback.statusField to the field that holds the job status)%s", ex.Response.Excerpt())
		if ex.Response.Truncated {
			hint = ex.Response.CutHint("callback")
		}
		return CheckStatusOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("callback: poll response from %s: %v%s", httpnode.RedactURL(ex.Sent.URL), err, hint),
			httpnode.ErrCallbackResponse, nil, ex.Response)
	}
	status = httpnode.ClipStatus(ex.mask.String(status))
	out := CheckStatusOutput{Status: status, StatusCode: ex.Response.StatusCode, Outcome: httpnode.Judge(in.Pending, in.Success, status)}
	return pollOutcome(ctx, in, ex, vars, out)
}

// judgedPoll is a poll judged by the callback's rules; the status shown is
// what statusField reads, when it reads anything.
func judgedPoll(ctx context.Context, in CheckStatusInput, r httpnode.Request, ex *exchange, vars map[string]any) (CheckStatusOutput, error) {
	outcome, err := judgePoll(ctx, r.SuccessWhen, in.PendingWhen, vars, ex.mask)
	if err != nil {
		return CheckStatusOutput{}, err
	}
	status, _ := httpnode.Lookup(ex.body, in.StatusField)
	out := CheckStatusOutput{Status: shownStatus(ex.mask.String(status), outcome), StatusCode: ex.Response.StatusCode, Outcome: outcome}
	return pollOutcome(ctx, in, ex, vars, out)
}

// pollOutcome completes a poll's output: a final one keeps the response
// (and a success its outputs), a pending one the remote's hint for the
// next wait.
func pollOutcome(ctx context.Context, in CheckStatusInput, ex *exchange, vars map[string]any, out CheckStatusOutput) (CheckStatusOutput, error) {
	if out.Outcome != OutcomePending {
		out.Response = &ex.Response
		if out.Outcome == OutcomeSuccess && len(in.Outputs) > 0 {
			var err error
			if out.Outputs, err = evalOutputs(ctx, httpnode.ExprPoll, in.Outputs, ex, vars); err != nil {
				return CheckStatusOutput{}, err
			}
		}
		return out, nil
	}
	out.NextInterval = httpnode.Duration(httpnode.ParseRetryAfter(ex.header.Get("Retry-After"), time.Now()))
	if in.IntervalField != "" {
		if v, err := httpnode.Lookup(ex.body, in.IntervalField); err == nil {
			out.NextInterval = httpnode.Duration(httpnode.ParseIntervalHint(v))
		}
	}
	return out, nil
}

// locationOutcome judges one poll of a 202 Accepted operation by its status
// code: 202 is pending (its Retry-After the next wait), 408, 429 and 5xx but
// 501 are retried, and anything else is final.
func locationOutcome(r httpnode.Request, ex *exchange) (CheckStatusOutput, error) {
	code := ex.Response.StatusCode
	out := CheckStatusOutput{Status: ex.Response.Status, StatusCode: code, Outcome: OutcomeFailure}
	switch {
	case code == http.StatusAccepted:
		out.Outcome = OutcomePending
		out.NextInterval = httpnode.Duration(httpnode.ParseRetryAfter(ex.header.Get("Retry-After"), time.Now()))
		return out, nil
	case retryableStatus(code):
		return out, checkStatus("callback", httpnode.Request{SuccessStatus: []string{"202"}}, ex, ex.Response)
	case httpnode.StatusMatches(r.SuccessStatus, code):
		out.Outcome = OutcomeSuccess
	}
	out.Response = &ex.Response
	return out, nil
}

func logExchange(ctx context.Context, msg string, ex *exchange) {
	if !activity.IsActivity(ctx) {
		return
	}
	activity.GetLogger(ctx).Info(msg, "method", ex.Sent.Method, "url", httpnode.RedactURL(ex.Sent.URL),
		"statusCode", ex.Response.StatusCode, "durationMs", ex.Response.DurationMs, "bytes", len(ex.body))
}
