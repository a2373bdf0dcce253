package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/httpnode"
)

// State is what a node carries across continue-as-new. A nil State starts a
// node; the workflow passes its State to the next run.
type State struct {
	// Attempt is the current attempt, from 1.
	Attempt   int       `json:"attempt"`
	StartTime time.Time `json:"startTime"`
	// Deadline is when the node times out (zero: no node timeout).
	Deadline time.Time `json:"deadline,omitzero"`
	// KeySeed makes idempotency keys unique to this node run and stable
	// across its runs: the workflow id and the first run's id.
	KeySeed string `json:"keySeed"`
	// ContinuedFrom is the run that continued as new with this state: the
	// next run trusts the state only when it continues that run.
	ContinuedFrom string `json:"continuedFrom,omitempty"`
	// SentTime is when the node's first main request was sent.
	SentTime time.Time `json:"sentTime,omitzero"`
	// Rendered is the node with parameters and time macros substituted,
	// rendered once per node run.
	Rendered   *httpnode.Rendered        `json:"rendered,omitempty"`
	AttemptLog []httpnode.AttemptOutcome `json:"attemptLog,omitempty"`
	Current    AttemptState              `json:"current"`
}

// AttemptState is the progress of the current attempt.
type AttemptState struct {
	Sent     *httpnode.SentRequest `json:"sent,omitempty"`
	Response *httpnode.Response    `json:"response,omitempty"`
	TaskID   string                `json:"taskId,omitempty"`
	// Waiting is set once the main request succeeded and the wait began;
	// StatusURL is what is polled (the status URL, or a 202's Location).
	Waiting          bool               `json:"waiting,omitempty"`
	StatusURL        string             `json:"statusUrl,omitempty"`
	PollDeadline     time.Time          `json:"pollDeadline,omitzero"`
	CallbackResponse *httpnode.Response `json:"callbackResponse,omitempty"`
	// Pushes counts applied callbacks, Deliveries holds the last ids seen,
	// and Pushed is the final status a callback delivered (push modes).
	Pushes     int      `json:"pushes,omitempty"`
	Deliveries []string `json:"deliveries,omitempty"`
	Pushed     *Pushed  `json:"pushed,omitempty"`
	// Outputs are the node's outputs, from the final response.
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
	// WaitMode is the worker's default wait mode (timer when empty) that
	// the wait of a callback naming no mode uses, as its main response
	// recorded it.
	WaitMode string `json:"waitMode,omitempty"`
	httpnode.PollState
}

// Progress answers the "progress" query.
type Progress struct {
	// Phase is "request" (main request in flight), "waiting" (polling),
	// "retry-wait" (between attempts) or "done".
	Phase string `json:"phase"`
	// Status is the node's end status, once the phase is "done".
	Status       string     `json:"status,omitempty"`
	Attempt      int        `json:"attempt"`
	Polls        int        `json:"polls"`
	Pushes       int        `json:"pushes,omitempty"`
	LastStatus   string     `json:"lastStatus,omitempty"`
	TaskID       string     `json:"taskId,omitempty"`
	NextPollTime *time.Time `json:"nextPollTime,omitempty"`
	// PushDeadline is when a node in push mode stops waiting for a callback.
	PushDeadline *time.Time `json:"pushDeadline,omitempty"`
	NextTryTime  *time.Time `json:"nextTryTime,omitempty"`
	// LastError is why the last attempt failed, while waiting to retry it.
	LastError *httpnode.Error `json:"lastError,omitempty"`
	// Stuck: the remote status has not changed since StatusSince for longer
	// than the node allows.
	Stuck       bool       `json:"stuck,omitempty"`
	StatusSince *time.Time `json:"statusSince,omitempty"`
}

// Progress phases.
const (
	PhaseRequest   = "request"
	PhaseWaiting   = "waiting"
	PhaseRetryWait = "retry-wait"
	PhaseDone      = "done"
)

// fitBudget cuts the response bodies the state holds until it fits
// httpnode.PayloadBudget: it is the next run's input.
func (s *State) fitBudget() {
	cur := &s.Current
	rs := []*httpnode.Response{cur.Response, cur.CallbackResponse}
	if cur.Pushed != nil {
		rs = append(rs, cur.Pushed.Response)
	}
	httpnode.FitBudget(s, httpnode.PayloadBudget, rs...)
}

// trusted reports whether the run of info may take s as the state its
// previous run carried across continue-as-new. Only such a run may: a
// client can start a run with a second input, and cron runs and workflow
// retries repeat the first run's inputs. States written before
// ContinuedFrom existed are taken in a plain continue-as-new only.
func (s *State) trusted(info *workflow.Info) bool {
	switch {
	case info.ContinuedExecutionRunID == "":
		return false
	case s.ContinuedFrom != "":
		return s.ContinuedFrom == info.ContinuedExecutionRunID
	}
	return info.CronSchedule == "" && info.Attempt <= 1
}

// idempotencyKey is a UUID-shaped key derived from the node run and attempt:
// the same for every try of an attempt, on every replay and after
// continue-as-new.
func (s *State) idempotencyKey() string {
	sum := sha256.Sum256([]byte(s.KeySeed + "/" + strconv.Itoa(s.Attempt)))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
