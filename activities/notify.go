package activities

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/httpnode/httpnode/httpnode"
)

// NotifyInput is one completion notification: the notify request (rendered,
// defaults applied), the document, its format and the message id, which
// stays the same across retries so receivers can drop duplicates.
type NotifyInput struct {
	Request  httpnode.Ready      `json:"request"`
	Format   string              `json:"format"`
	Document httpnode.TaskFinish `json:"document"`
	// Flow, when set, is sent instead of Document: a flow's notification.
	Flow      *httpnode.FlowFinish `json:"flow,omitempty"`
	MessageID string               `json:"messageId"`
}

// NotifyOutput is the receiver's answer.
type NotifyOutput struct {
	StatusCode int   `json:"statusCode"`
	DurationMs int64 `json:"durationMs"`
}

// Notify POSTs the TaskFinish document, signed with the Standard Webhooks
// scheme when the request has sign secrets (webhook-id is MessageID). An
// answer outside the success rule fails like the main request: 429 and 5xx
// but 501 are retried (honouring Retry-After), others are final.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) (NotifyOutput, error) {
	doc, contentType, err := in.Document.Encode(in.Format)
	if in.Flow != nil {
		doc, contentType, err = in.Flow.Encode(in.Format)
	}
	if err != nil {
		return NotifyOutput{}, nonRetryable(httpnode.ErrInvalidRequest, "notify.format: %v", err)
	}
	r := in.Request.Request()
	r.Method, r.BodyType = "POST", httpnode.BodyRaw
	r.Body, _ = json.Marshal(string(doc))
	r.Headers = withHeader(r.Headers, "Content-Type", contentType)
	defer heartbeatWhile(ctx)()
	ex, err := a.exchange(ctx, "notify", r, sendOptions{msgID: in.MessageID})
	if err != nil {
		return NotifyOutput{}, err
	}
	logExchange(ctx, "notification sent", ex)
	out := NotifyOutput{StatusCode: ex.Response.StatusCode, DurationMs: ex.Response.DurationMs}
	return out, checkStatus("notify", r, ex, out)
}

// CancelJobInput is the node's cancel request, rendered with its task id.
type CancelJobInput struct {
	Request httpnode.Ready `json:"request"`
}

// CancelJob calls the node's cancel request once, when the node is
// cancelled or times out, so the remote job stops too. Its answer is judged
// by the request's success rule.
func (a *Activities) CancelJob(ctx context.Context, in CancelJobInput) (SendRequestOutput, error) {
	defer heartbeatWhile(ctx)()
	r := in.Request.Request()
	ex, err := a.exchange(ctx, "cancel", r, sendOptions{})
	if err != nil {
		return SendRequestOutput{}, err
	}
	logExchange(ctx, "cancel sent", ex)
	out := SendRequestOutput{Sent: ex.Sent, Response: ex.Response}
	return out, checkStatus("cancel", r, ex, out)
}

// withHeader returns a copy of h with k set to v unless h sets k already.
func withHeader(h map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(h)+1)
	for hk, hv := range h {
		out[hk] = hv
		if http.CanonicalHeaderKey(hk) == k {
			return h
		}
	}
	out[k] = v
	return out
}
