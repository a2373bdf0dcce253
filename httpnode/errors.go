package httpnode

import "strings"

// Error types of a failed node. They are API: parents and ops match on them,
// so they are never renamed.
const (
	ErrInvalidNode          = "InvalidNode"          // the node failed validation
	ErrInvalidRequest       = "InvalidRequest"       // a request could not be built (bad URL, body, TLS files)
	ErrInvalidParameter     = "InvalidParameter"     // an unknown parameter, a bad time macro or time zone
	ErrSecretNotFound       = "SecretNotFound"       // a ${secret.NAME} reference has no value on the worker
	ErrSecretNotBound       = "SecretNotBound"       // a secret is not bound to the request's destination (or to none)
	ErrInvalidSecret        = "InvalidSecret"        // a secret's value cannot be used (too short to mask, not PEM, not a signing secret)
	ErrTransport            = "Transport"            // connection refused/reset, DNS failure (retried)
	ErrTimeout              = "Timeout"              // a try ran past its timeout (retried)
	ErrTLS                  = "TLS"                  // certificate verification failed
	ErrHTTPStatus           = "HTTPStatus"           // the status is outside the success rule
	ErrMissingTaskID        = "MissingTaskID"        // the main response has no task id at taskIdField
	ErrCallbackResponse     = "CallbackResponse"     // a poll response is not JSON or lacks statusField
	ErrCallbackStatus       = "CallbackStatus"       // the remote job ended in a status that is not success
	ErrPollBudgetExceeded   = "PollBudgetExceeded"   // callback.maxPolls polls were made without a final status
	ErrPollDeadlineExceeded = "PollDeadlineExceeded" // callback.deadline passed without a final status
	ErrNodeTimeout          = "NodeTimeout"          // the node's timeout passed
	ErrRemoteStuck          = "RemoteStuck"          // the remote status stopped changing (callback.failWhenStuck)
	ErrActivityTimeout      = "ActivityTimeout"      // Temporal timed an activity out (worker lost or stuck)
	ErrDestinationDenied    = "DestinationDenied"    // the worker's egress policy does not allow the destination
	ErrRedirectLoop         = "RedirectLoop"         // redirects looped or went past maxRedirects
	ErrLimitExceeded        = "LimitExceeded"        // a request or response is larger than the worker's limits
	ErrCancelled            = "Cancelled"            // the node was cancelled (CLI, UI, parent)
	ErrNoCallbackReceiver   = "NoCallbackReceiver"   // a push node ran on a worker without a callback receiver
	ErrResponseRule         = "ResponseRule"         // a failWhen rule matched, or successWhen was false
	ErrExpression           = "Expression"           // an expression could not be evaluated (a missing field, a wrong type, its cost limit)
	ErrInvalidFlow          = "InvalidFlow"          // the flow failed validation
	ErrNoBodyStore          = "NoBodyStore"          // request.storeBody on a worker without a body store (--body-store)
	ErrBodyStore            = "BodyStore"            // the body store could not take a body (retried)
)

// FieldError is one validation problem: the field path and what is wrong.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// ValidationError lists every problem found in a node.
type ValidationError struct {
	Problems []FieldError `json:"problems"`
	// Of is what is invalid: "node" when empty, or "flow".
	Of string `json:"of,omitempty"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	of := e.Of
	if of == "" {
		of = "node"
	}
	return "invalid " + of + ": " + strings.Join(parts, "; ")
}
