package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/common/types/ref"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
)

// The node's CEL expressions, evaluated here, on the response they judge
// (see httpnode.Expr for what they see).

// PollVars are what a poll's expressions see besides the response: the
// poll's number and the time since the wait began.
type PollVars struct {
	Poll      int       `json:"poll"`
	WaitSince time.Time `json:"waitSince"`
}

// exprVars is the activation of an expression over ex's response; poll is
// nil for the main request.
func exprVars(ex *exchange, poll *PollVars) map[string]any {
	return responseVars(ex.Response.StatusCode, ex.header, ex.body, poll)
}

func responseVars(status int, header http.Header, body []byte, poll *PollVars) map[string]any {
	headers := make(map[string][]string, len(header))
	for k, v := range header {
		headers[strings.ToLower(k)] = v
	}
	vars := map[string]any{
		"status":  int64(status),
		"headers": headers,
		"body":    httpnode.ParseBody(header.Get("Content-Type"), body),
		"text":    string(body[:min(len(body), httpnode.MaxResponseBytesLimit)]), // a stored body is longer
	}
	if poll != nil {
		vars["polls"] = int64(poll.Poll)
		vars["elapsed"] = max(time.Since(poll.WaitSince), 0)
	}
	return vars
}

// evalRule evaluates a rule (a bool) at field.
func evalRule(ctx context.Context, kind httpnode.ExprKind, field, src string, vars map[string]any, m *masker) (bool, error) {
	e, err := httpnode.CompileExpr(kind, src, true)
	if err == nil {
		var v ref.Val
		if v, _, err = e.Program().ContextEval(ctx, vars); err == nil {
			if b, ok := v.Value().(bool); ok {
				return b, nil
			}
			err = fmt.Errorf("gave %v, not true or false", v.Value())
		}
	}
	return false, ruleError(field, src, err, m)
}

// ruleError is the non-retryable failure of an expression that could not
// be evaluated: a missing field, a wrong type, the cost limit. CEL's
// message may quote the response: secrets are masked in it.
func ruleError(field, src string, err error, m *masker) error {
	return temporal.NewNonRetryableApplicationError(m.String(fmt.Sprintf("%s: %q could not be evaluated: %v (a field that may be missing can be guarded: has(body.x) && body.x == 1)", field, src, err)), httpnode.ErrExpression, nil)
}

// failWhen checks r's failWhen rules in order on ex's response: the first
// that is true fails the try with its message (retryable when it says so).
func failWhen(ctx context.Context, step string, kind httpnode.ExprKind, r httpnode.Request, ex *exchange, vars map[string]any, details any) error {
	for i, f := range r.FailWhen {
		hit, err := evalRule(ctx, kind, fmt.Sprintf("%s.failWhen[%d].when", step, i), f.When, vars, ex.mask)
		if err != nil {
			return err
		}
		if !hit {
			continue
		}
		msg := fmt.Sprintf("%s: %s (failWhen %q, HTTP %d)%s", step, ex.mask.String(f.Message), f.When, ex.Response.StatusCode, ex.Response.Excerpt())
		opts := temporal.ApplicationErrorOptions{NonRetryable: !f.Retry, Details: []any{details}}
		if f.Retry {
			opts.NextRetryDelay = retryAfter(ex.header.Get("Retry-After"), time.Now())
		}
		return temporal.NewApplicationErrorWithOptions(msg, httpnode.ErrResponseRule, opts)
	}
	return nil
}

// evalOutputs computes the node's outputs over the final response: JSON
// values, masked, within httpnode.MaxOutputsBytes together.
func evalOutputs(ctx context.Context, kind httpnode.ExprKind, outputs map[string]string, ex *exchange, vars map[string]any) (map[string]json.RawMessage, error) {
	if len(outputs) == 0 {
		return nil, nil
	}
	out := make(map[string]json.RawMessage, len(outputs))
	size := 0
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		field := "outputs." + name
		e, err := httpnode.CompileExpr(kind, outputs[name], false)
		if err != nil {
			return nil, ruleError(field, outputs[name], err, ex.mask)
		}
		v, _, err := e.Program().ContextEval(ctx, vars)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(ex.mask.String(fmt.Sprintf("%s: %q could not be evaluated: %v (an output whose field may be missing can say so: has(body.x) ? body.x : null)", field, outputs[name], err)), httpnode.ErrExpression, nil)
		}
		native, err := v.ConvertToNative(reflect.TypeOf(&structpb.Value{}))
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %q is a %s, which is not a JSON value (convert it, e.g. string(...))", field, outputs[name], v.Type().TypeName()), httpnode.ErrExpression, nil)
		}
		b, err := json.Marshal(native.(*structpb.Value).AsInterface())
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", field, err), httpnode.ErrExpression, nil)
		}
		b = []byte(ex.mask.String(string(b)))
		if size += len(b); size > httpnode.MaxOutputsBytes {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("outputs: more than the %d KiB outputs may hold together (%s alone is %d bytes); name smaller values, e.g. one field instead of a whole body", httpnode.MaxOutputsBytes>>10, field, len(b)), httpnode.ErrLimitExceeded, nil)
		}
		out[name] = b
	}
	return out, nil
}

// judgeMain applies the main request's rules to its response: failWhen,
// the status rule, then successWhen; and computes outputs (a node without
// a callback) once the response is a success.
func judgeMain(ctx context.Context, in SendRequestInput, ex *exchange, out *SendRequestOutput) error {
	r := in.Request.Request()
	if r.SuccessWhen == "" && len(r.FailWhen) == 0 && len(in.Outputs) == 0 {
		return checkStatus("request", r, ex, *out)
	}
	vars := exprVars(ex, nil)
	if err := failWhen(ctx, "request", httpnode.ExprResponse, r, ex, vars, *out); err != nil {
		return err
	}
	if err := checkStatus("request", r, ex, *out); err != nil {
		return err
	}
	if r.SuccessWhen != "" {
		ok, err := evalRule(ctx, httpnode.ExprResponse, "request.successWhen", r.SuccessWhen, vars, ex.mask)
		if err != nil {
			return err
		}
		if !ok {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("request: successWhen %q is false of the response (HTTP %d)%s", r.SuccessWhen, ex.Response.StatusCode, ex.Response.Excerpt()),
				httpnode.ErrResponseRule, nil, *out)
		}
	}
	var err error
	out.Outputs, err = evalOutputs(ctx, httpnode.ExprResponse, in.Outputs, ex, vars)
	return err
}

// judgePoll is a poll's outcome by the callback's rules (pendingWhen,
// successWhen; failWhen was checked before the status rule).
func judgePoll(ctx context.Context, successWhen, pendingWhen string, vars map[string]any, m *masker) (string, error) {
	rule := func(field, src string) (bool, error) {
		if src == "" {
			return false, nil
		}
		return evalRule(ctx, httpnode.ExprPoll, field, src, vars, m)
	}
	success, err := rule("callback.successWhen", successWhen)
	if err != nil || success {
		return OutcomeSuccess, err
	}
	pending, err := rule("callback.pendingWhen", pendingWhen)
	switch {
	case err != nil:
		return "", err
	case pending || pendingWhen == "":
		return OutcomePending, nil // without pendingWhen, all but a success is pending
	case successWhen == "":
		return OutcomeSuccess, nil // without successWhen, all but pending is a success
	}
	return OutcomeFailure, nil
}

// RuleVerdict is what one rule says of a response: "true", "false", or why
// it could not be evaluated.
type RuleVerdict struct {
	Field  string `json:"field"`
	When   string `json:"when"`
	Result string `json:"result"`
}

// ExplainRules evaluates each of the main request's rules on resp, every
// one (the activity stops at the first that decides): what starter test
// shows. A stored body is read back from bodies for them.
func ExplainRules(ctx context.Context, bodies *bodystore.Store, r httpnode.Request, resp httpnode.Response) []RuleVerdict {
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	for k, vs := range resp.HeaderLists {
		header[http.CanonicalHeaderKey(k)] = vs
	}
	body := resp.BodyBytes()
	if resp.BodyRef != nil && bodies != nil && resp.BodyRef.Size <= httpnode.MaxParsedBodyBytes {
		if rd, err := bodies.Get(ctx, resp.BodyRef.URL); err == nil {
			body, _ = io.ReadAll(rd)
			_ = rd.Close()
		}
	}
	vars := responseVars(resp.StatusCode, header, body, nil)
	var out []RuleVerdict
	verdict := func(field, src string) {
		ok, err := evalRule(ctx, httpnode.ExprResponse, field, src, vars, &masker{})
		v := RuleVerdict{Field: field, When: src, Result: fmt.Sprint(ok)}
		if err != nil {
			v.Result = err.Error()
		}
		out = append(out, v)
	}
	for i, f := range r.FailWhen {
		verdict(fmt.Sprintf("request.failWhen[%d].when", i), f.When)
	}
	if r.SuccessWhen != "" {
		verdict("request.successWhen", r.SuccessWhen)
	}
	return out
}

// JudgePushInput is one pushed callback for the node's rules: its body
// and content type, the callback's rules (Request.SuccessWhen and FailWhen
// in Rules, PendingWhen), the outputs, and the push's number and the
// wait's start (as polls and elapsed).
type JudgePushInput struct {
	ContentType string            `json:"contentType,omitempty"`
	Body        string            `json:"body"`
	Rules       httpnode.Request  `json:"rules"`
	PendingWhen string            `json:"pendingWhen,omitempty"`
	StatusField string            `json:"statusField,omitempty"`
	Outputs     map[string]string `json:"outputs,omitempty"`
	Vars        PollVars          `json:"vars"`
}

// JudgePushOutput is what the rules say of a push: its outcome, the status
// shown, the failWhen message that failed it, and the outputs of a final
// success.
type JudgePushOutput struct {
	Status  string                     `json:"status"`
	Outcome string                     `json:"outcome"`
	Message string                     `json:"message,omitempty"`
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
}

// JudgePush judges a pushed callback by the callback's rules, as a poll's
// response is judged (a push has status 200, its headers its Content-Type;
// polls counts the pushes). The node's update handler runs it as a local
// activity, so that no expression runs in workflow code. A rule that
// cannot be evaluated refuses the push (CallbackUnreadable): the node
// keeps waiting.
func (a *Activities) JudgePush(ctx context.Context, in JudgePushInput) (JudgePushOutput, error) {
	header := http.Header{}
	if in.ContentType != "" {
		header.Set("Content-Type", in.ContentType)
	}
	body := []byte(in.Body)
	ex := &exchange{Response: httpnode.Response{StatusCode: http.StatusOK, Body: in.Body}, body: body, header: header, mask: &masker{}}
	vars := responseVars(http.StatusOK, header, body, &in.Vars)
	unreadable := func(err error) error {
		var app *temporal.ApplicationError
		msg := err.Error()
		if errors.As(err, &app) {
			msg = app.Message()
		}
		return temporal.NewNonRetryableApplicationError(msg, httpnode.RejectUnreadable, nil)
	}
	status, _ := httpnode.LookupBody(in.ContentType, body, in.StatusField)
	out := JudgePushOutput{Status: status}
	for i, f := range in.Rules.FailWhen {
		hit, err := evalRule(ctx, httpnode.ExprPoll, fmt.Sprintf("callback.failWhen[%d].when", i), f.When, vars, ex.mask)
		if err != nil {
			return JudgePushOutput{}, unreadable(err)
		}
		if hit {
			out.Outcome, out.Message = OutcomeFailure, fmt.Sprintf("callback: %s (failWhen %q)%s", f.Message, f.When, ex.Response.Excerpt())
			out.Status = shownStatus(out.Status, out.Outcome)
			return out, nil
		}
	}
	outcome, err := judgePoll(ctx, in.Rules.SuccessWhen, in.PendingWhen, vars, ex.mask)
	if err != nil {
		return JudgePushOutput{}, unreadable(err)
	}
	out.Outcome, out.Status = outcome, shownStatus(out.Status, outcome)
	if outcome == OutcomeSuccess {
		if out.Outputs, err = evalOutputs(ctx, httpnode.ExprPoll, in.Outputs, ex, vars); err != nil {
			return JudgePushOutput{}, unreadable(err)
		}
	}
	return out, nil
}

// shownStatus is the status a response judged by rules shows: what the
// status field reads, clipped, or the outcome when it reads nothing.
func shownStatus(status, outcome string) string {
	if status == "" {
		return strings.ToUpper(outcome)
	}
	return httpnode.ClipStatus(status)
}

// CheckExpressions compiles expressions (a flow's, from the Flow workflow's
// start, so that a flow whose fifth node has a broken rule sends nothing):
// an InvalidFlow error names each that does not compile.
func (a *Activities) CheckExpressions(ctx context.Context, specs []httpnode.ExprSpec) error {
	if err := httpnode.CheckExprs(specs); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidFlow, nil)
	}
	return nil
}

// JudgeWhenInput is a flow node's when, with the upstream nodes' data and
// the flow's values it reads.
type JudgeWhenInput struct {
	Field string                       `json:"field"`
	When  string                       `json:"when"`
	Nodes map[string]httpnode.NodeData `json:"nodes"`
	Flow  httpnode.FlowVars            `json:"flow"`
}

// JudgeWhen evaluates a flow node's when (a local activity of the Flow
// workflow, so that no expression runs in workflow code). An expression
// that cannot be evaluated fails with Expression.
func (a *Activities) JudgeWhen(ctx context.Context, in JudgeWhenInput) (bool, error) {
	return evalRule(ctx, httpnode.ExprWhen, in.Field, in.When, httpnode.WhenVars(in.Nodes, in.Flow), &masker{})
}
