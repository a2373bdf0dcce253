package httpnode

import (
	"encoding/json"
	"net/url"
	"strconv"
)

// A node's request passes three stages before it is sent, each owned by one
// function, and its type says which it has reached:
//
//  1. Node.Render fills in parameters, built-ins and time macros, once per
//     node run: a Rendered node (recorded in history).
//  2. Rendered.ForAttempt(...).Main, Poll, Notify or Cancel fill in
//     ${attempt} and ${taskId}: a Ready request, the only kind the
//     activities take.
//  3. The activity fills in what only the worker knows, secrets and
//     ${callbackUrl}, and sends it.

// Ready is a request ready to send: every reference but the worker's own
// (secrets, ${callbackUrl}) filled in. Only an Attempt makes one, so no
// request can skip a stage; it is written as the Request it holds.
type Ready struct{ r Request }

// Request returns (a copy of) the request.
func (rd Ready) Request() Request { return rd.r }

// MarshalJSON writes the request.
func (rd Ready) MarshalJSON() ([]byte, error) { return json.Marshal(rd.r) }

// UnmarshalJSON reads a request that was ready when it was written (an
// activity's input).
func (rd *Ready) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &rd.r) }

// Attempt is a rendered node's requests for one attempt.
type Attempt struct {
	rd      Rendered
	attempt string
}

// ForAttempt returns the node's requests for attempt n (from 1).
func (rd Rendered) ForAttempt(n int) Attempt { return Attempt{rd: rd, attempt: strconv.Itoa(n)} }

// render fills ${attempt} and ${taskId} into r, whose fields are under path.
func (a Attempt) render(path string, r Request, taskID string) (Ready, error) {
	builtins := map[string]string{"attempt": a.attempt}
	if path != "request" { // ${taskId} stands in callback, notify and cancel fields
		builtins["taskId"] = taskID
	}
	out, err := RenderRequest(path, r, &Vars{Builtins: builtins})
	return Ready{out}, err
}

// Main is the attempt's main request.
func (a Attempt) Main() (Ready, error) { return a.render("request", a.rd.Request, "") }

// Poll is the request of each poll of the job taskID at statusURL: the
// status URL with the task id in place, or (location) the Location of a
// 202 Accepted, which keeps the main request's auth on its origin and is
// judged by its success rule.
func (a Attempt) Poll(taskID, statusURL string, location bool) (Ready, error) {
	if a.rd.Callback == nil {
		return Ready{}, &ValidationError{Problems: []FieldError{{Path: "callback", Message: "is not set"}}}
	}
	poll, err := a.render("callback", *a.rd.Callback, taskID)
	if err != nil {
		return poll, err
	}
	poll.r.URL = statusURL
	if location {
		main := a.rd.Request
		poll.r.SuccessStatus = main.SuccessStatus
		if poll.r.Auth == nil && sameOrigin(main.URL, statusURL) {
			poll.r.Auth = main.Auth
		}
	}
	return poll, nil
}

// Notify is the completion notification's request; nil without notify.
func (a Attempt) Notify(taskID string) (*Ready, error) {
	return a.optional("notify", a.rd.Notify, taskID)
}

// Cancel is the cancel request; nil without cancel.
func (a Attempt) Cancel(taskID string) (*Ready, error) {
	return a.optional("cancel", a.rd.Cancel, taskID)
}

func (a Attempt) optional(path string, r *Request, taskID string) (*Ready, error) {
	if r == nil {
		return nil, nil
	}
	out, err := a.render(path, *r, taskID)
	return &out, err
}

// sameOrigin reports whether two URLs share scheme, host and port.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}
