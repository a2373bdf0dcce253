// Package receiver serves the callbacks that remote systems push to nodes
// in push mode: POST <base>/callbacks/<workflow id>/<attempt key>/<token>.
// A delivery is checked (the token; the Standard Webhooks signature and
// timestamp when signing secrets are configured) and handed to the node as
// the "callback" update, whose validator refuses stale, duplicate,
// conflicting and unreadable deliveries without touching history.
package receiver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/callbackurl"
	"github.com/httpnode/httpnode/internal/webhook"
)

// MaxBodyBytes is the largest callback body taken; it goes into history.
const MaxBodyBytes = 64 << 10

// Receiver serves pushed callbacks.
type Receiver struct {
	Client client.Client
	// Key checks the URL's token (see callbackurl).
	Key []byte
	// Secrets, when set, require every delivery to carry a valid Standard
	// Webhooks signature by one of them, within Tolerance (default 5m).
	Secrets   []webhook.Secret
	Tolerance time.Duration
	// Timeout bounds the wait for the node to take a delivery (default
	// 30s): without a worker running it, the sender is told to retry.
	Timeout time.Duration
	Logger  log.Logger
}

// Answer is the JSON body of every response.
type Answer struct {
	// Result is "accepted", "duplicate" or "rejected".
	Result string `json:"result"`
	Status string `json:"status,omitempty"` // the status the node read
	Final  bool   `json:"final"`            // it ended the node's wait (false on refusals)
	Error  string `json:"error,omitempty"`
}

// Handler returns the HTTP handler of the receiver.
func (rc *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(callbackurl.Pattern, rc.serve)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	wf, key := r.PathValue("workflowID"), r.PathValue("attemptKey")
	if !callbackurl.Verify(rc.Key, wf, key, r.PathValue("token")) {
		reply(w, http.StatusForbidden, Answer{Result: "rejected", Error: "the callback URL's token does not match (use the ${callbackUrl} the node sent, unchanged)"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		reply(w, http.StatusRequestEntityTooLarge, Answer{Result: "rejected", Error: "the body is larger than 64 KiB (send the status, not the result data)"})
		return
	}
	id := ""
	if len(rc.Secrets) > 0 {
		if id, err = webhook.Verify(r.Header, body, rc.Secrets, time.Now(), rc.Tolerance); err != nil {
			reply(w, http.StatusUnauthorized, Answer{Result: "rejected", Error: "signature: " + err.Error()})
			return
		}
	} else if id = r.Header.Get(webhook.HeaderID); id == "" {
		sum := sha256.Sum256(body)
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	d := httpnode.CallbackDelivery{AttemptKey: key, DeliveryID: id, ContentType: r.Header.Get("Content-Type"), Body: string(body)}
	code, ans := rc.deliver(r.Context(), wf, d)
	if rc.Logger != nil {
		rc.Logger.Info("callback", "workflowId", wf, "deliveryId", id, "code", code, "result", ans.Result, "status", ans.Status)
	}
	reply(w, code, ans)
}

// deliver hands d to the node and says how to answer the sender.
func (rc *Receiver) deliver(ctx context.Context, workflowID string, d httpnode.CallbackDelivery) (int, Answer) {
	timeout := rc.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h, err := rc.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: httpnode.CallbackUpdate, Args: []any{d},
		UpdateID: d.AttemptKey + "/" + d.DeliveryID, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var ack httpnode.CallbackAck
	if err == nil {
		err = h.Get(ctx, &ack)
	}
	var app *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return http.StatusOK, Answer{Result: "accepted", Status: ack.Status, Final: ack.Final}
	case errors.As(err, &app) && app.Type() == httpnode.RejectDuplicate:
		return http.StatusOK, Answer{Result: "duplicate", Error: app.Message()}
	case errors.As(err, &app) && app.Type() == httpnode.RejectUnreadable:
		return http.StatusUnprocessableEntity, Answer{Result: "rejected", Error: app.Message()}
	case errors.As(err, &app) && strings.HasPrefix(app.Type(), "Callback"):
		return http.StatusConflict, Answer{Result: "rejected", Error: app.Message()}
	case strings.Contains(err.Error(), "unknown update"):
		return http.StatusConflict, Answer{Result: "rejected", Error: "this node does not take pushed callbacks (its callback.mode is not push or push+poll)"}
	case errors.As(err, &notFound) || strings.Contains(err.Error(), "already completed"):
		return http.StatusGone, Answer{Result: "rejected", Error: "the node has already finished (or never ran): this callback was not applied"}
	}
	if rc.Logger != nil {
		rc.Logger.Warn("callback not delivered", "workflowId", workflowID, "error", err)
	}
	return http.StatusServiceUnavailable, Answer{Result: "rejected", Error: "the node could not take the callback now; retry later"}
}

func reply(w http.ResponseWriter, code int, a Answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}
