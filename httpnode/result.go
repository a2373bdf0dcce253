package httpnode

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/httpnode/httpnode/internal/jsonenc"
)

// Node run statuses.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusSkipped   = "SKIPPED"
	StatusTimedOut  = "TIMED_OUT"
	StatusCancelled = "CANCELLED"
)

// Result is the outcome of a node run: the workflow's output, and the details
// of its error when the node fails with onFailure "abort".
type Result struct {
	// Status is SUCCEEDED, FAILED, SKIPPED, TIMED_OUT or CANCELLED.
	Status string `json:"status"`
	Name   string `json:"name,omitempty"`
	// Attempts is how many attempts ran; AttemptLog has one entry per
	// attempt that failed before the last one.
	Attempts   int              `json:"attempts"`
	AttemptLog []AttemptOutcome `json:"attemptLog,omitempty"`
	// Request is the main request as sent, secrets masked.
	Request *SentRequest `json:"request,omitempty"`
	// Response is the main response.
	Response *Response `json:"response,omitempty"`
	TaskID   string    `json:"taskId,omitempty"`
	// CallbackStatus is the last remote status read by a poll, Polls the
	// number of polls of the last attempt, and CallbackResponse the final
	// poll's response (kept only for the final status).
	CallbackStatus   string    `json:"callbackStatus,omitempty"`
	Polls            int       `json:"polls,omitempty"`
	CallbackResponse *Response `json:"callbackResponse,omitempty"`
	// Pushes counts the callbacks the remote pushed (push modes).
	Pushes int `json:"pushes,omitempty"`
	// Stuck is set when the remote status stopped changing for longer than
	// callback.stuckAfterPolls / stuckAfter allow.
	Stuck bool `json:"stuck,omitempty"`
	// Outputs are the node's outputs (Node.Outputs), as JSON values; set
	// when the node succeeded.
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
	// SkippedFields are the fields of a flow's node left out because they
	// use data of an upstream node that failed or was skipped
	// (Node.SkippedFields).
	SkippedFields []string `json:"skippedFields,omitempty"`
	Error         *Error   `json:"error,omitempty"`
	// Cancel is how the node's cancel request went (cancelled or timed out
	// nodes with cancel set); Notification how the completion notification
	// went. Neither changes Status.
	Cancel       *CallOutcome `json:"cancel,omitempty"`
	Notification *CallOutcome `json:"notification,omitempty"`
	// Params are the parameters the node used and ScheduledTime the time
	// its time macros were computed from (in the node's time zone).
	Params        map[string]string `json:"params,omitempty"`
	ScheduledTime *time.Time        `json:"scheduledTime,omitempty"`
	StartTime     time.Time         `json:"startTime"`
	EndTime       time.Time         `json:"endTime"`
}

// CallOutcome is how a request made on the node's behalf went: "sent" (the
// receiver answered within its success rule), "failed" (Error says why) or
// "skipped" (Error says why it was not sent).
type CallOutcome struct {
	Status     string `json:"status"`
	StatusCode int    `json:"statusCode,omitempty"`
	Error      *Error `json:"error,omitempty"`
}

// Call outcomes.
const (
	CallSent    = "sent"
	CallFailed  = "failed"
	CallSkipped = "skipped"
)

// AttemptOutcome records how one failed attempt ended.
type AttemptOutcome struct {
	Attempt        int       `json:"attempt"`
	StatusCode     int       `json:"statusCode,omitempty"`
	TaskID         string    `json:"taskId,omitempty"`
	CallbackStatus string    `json:"callbackStatus,omitempty"`
	Polls          int       `json:"polls,omitempty"`
	Error          *Error    `json:"error,omitempty"`
	EndTime        time.Time `json:"endTime"`
}

// Error is a failure's stable type (see the Err* constants) and message.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// SentRequest is a request as it went out, with secret values masked.
type SentRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// FinalURL is where redirects led (followRedirects), when elsewhere.
	FinalURL string `json:"finalUrl,omitempty"`
}

// Response is an HTTP response as kept in history: status, headers, the body
// up to the request's cap, and how long the try took.
type Response struct {
	StatusCode int    `json:"statusCode"`
	Status     string `json:"status,omitempty"`
	// Headers has one string per header, several values joined with ", ";
	// HeaderLists repeats the headers that came with several values (two
	// Set-Cookie lines, say) as lists, so that their boundaries stay.
	Headers     map[string]string   `json:"headers,omitempty"`
	HeaderLists map[string][]string `json:"headerLists,omitempty"`
	// Body is the body text (decoded when the remote compressed it with
	// gzip or deflate); BodyEncoding is "base64" when the body is not UTF-8
	// text. Truncated is set when the body is not whole, and TruncatedBy
	// says why: CutByLimit, CutByTimeout or CutByBudget.
	Body         string `json:"body,omitempty"`
	BodyEncoding string `json:"bodyEncoding,omitempty"`
	Truncated    bool   `json:"truncated,omitempty"`
	TruncatedBy  string `json:"truncatedBy,omitempty"`
	DurationMs   int64  `json:"durationMs"`
	// BodyRef is where the whole body is when it went to the worker's body
	// store (request.storeBody, or a body longer than maxResponseBytes);
	// Body is then its first StoredExcerptBytes, and TruncatedBy CutByStore
	// when the body is longer.
	BodyRef *BodyRef `json:"bodyRef,omitempty"`
}

// BodyRef is a response body in the worker's body store. Size and SHA256
// are those of the body as stored (decoded when the remote compressed it,
// the node's secrets masked, not encrypted); EncryptedWith is the id of the
// key it is encrypted with, when the worker encrypts payloads.
type BodyRef struct {
	URL           string `json:"url"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	ContentType   string `json:"contentType,omitempty"`
	EncryptedWith string `json:"encryptedWith,omitempty"`
}

// StoredExcerptBytes is how much of a stored body the response in history
// keeps; MaxParsedBodyBytes is how much of a stored body the node's
// expressions and lookups read (a longer body is seen as its first
// maxResponseBytes, and does not parse): parsed, JSON takes 8 to 15 times
// its size, so 16 MiB parse within the 512 MiB of the Kubernetes manifest.
const (
	StoredExcerptBytes = 512
	MaxParsedBodyBytes = 16 << 20
)

// responseFields is Response without its JSON methods.
type responseFields Response

// responseJSON is how a Response is written: a body that is JSON is kept
// as JSON under bodyJson (whitespace dropped), so it does not grow by its
// escapes when embedded; any other body is a string under body.
type responseJSON struct {
	responseFields
	BodyJSON json.RawMessage `json:"bodyJson,omitempty"`
}

// MarshalJSON writes a JSON body as JSON (bodyJson), any other as a string.
func (r Response) MarshalJSON() ([]byte, error) {
	out := responseJSON{responseFields: responseFields(r)}
	if r.BodyEncoding == "" && r.Body != "" && json.Valid([]byte(r.Body)) {
		out.Body, out.BodyJSON = "", json.RawMessage(r.Body)
	}
	return jsonenc.Marshal(out) // no HTML escaping here: the encoder that embeds this decides
}

// UnmarshalJSON reads both forms into Body.
func (r *Response) UnmarshalJSON(b []byte) error {
	var in responseJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*r = Response(in.responseFields)
	if len(in.BodyJSON) > 0 {
		r.Body = string(in.BodyJSON)
	}
	return nil
}

// Why a body was cut (Response.TruncatedBy).
const (
	CutByLimit   = "maxResponseBytes" // longer than the request's maxResponseBytes
	CutByTimeout = "timeout"          // the try's timeout passed while it arrived
	CutByBudget  = "payloadBudget"    // what holds it would not fit Temporal's payload limit
	CutByStore   = "bodyStore"        // the whole body is in the body store (BodyRef)
	// CutByStoreLimit: the body was longer than the store takes (worker
	// --body-max-bytes): BodyRef holds its start.
	CutByStoreLimit = "bodyMaxBytes"
)

// CutHint says why a cut body may lack a field, for a message about a
// lookup in it (step is "request" or "callback"); "" when it is whole.
func (r Response) CutHint(step string) string {
	switch r.TruncatedBy {
	case CutByTimeout:
		return " (the body was cut by " + step + ".timeout while it arrived; raise it)"
	case CutByBudget:
		return " (the body was cut to fit Temporal's payload limit)"
	case CutByStore:
		return " (history keeps the start of the body; the whole body is in the body store, at bodyRef: read fields of it with outputs)"
	case CutByStoreLimit:
		return " (the body was longer than the worker's body store takes, --body-max-bytes)"
	case "":
		if !r.Truncated {
			return ""
		}
	}
	return " (the body was cut at " + step + ".maxResponseBytes; raise it)"
}

const excerptLen = 200

// Excerpt returns ": " and the start of the body, whitespace folded, for an
// error message (never the whole body); "" when the body is empty or binary.
func (r Response) Excerpt() string {
	b := r.Body
	if b == "" || r.BodyEncoding != "" {
		return ""
	}
	b = strings.Join(strings.Fields(b), " ")
	if len(b) > excerptLen {
		b = cutBytes(b, excerptLen) + "…"
	}
	return ": " + b
}

// BodyBytes returns the body as bytes, decoding base64 when BodyEncoding says so.
func (r Response) BodyBytes() []byte {
	if r.BodyEncoding == "base64" {
		b, _ := base64.StdEncoding.DecodeString(r.Body)
		return b
	}
	return []byte(r.Body)
}
