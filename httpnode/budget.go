package httpnode

import (
	"encoding/json"
	"unicode/utf8"
)

// Budgets of what a node writes into Temporal. The server refuses a
// payload over 2 MiB (limit.blobSize.error, by default), and a workflow
// task whose payload is refused fails again and again: the node would
// wedge, its timeout never firing. So every payload the node writes is kept
// under PayloadBudget, measured as encoded JSON (the worker's converter
// writes no more than json.Marshal; encryption adds some 50 bytes), with
// room left for the rest of the task.
const (
	// PayloadBudget bounds each activity result, error details, the
	// workflow's result and the state carried across continue-as-new.
	PayloadBudget = 1536 << 10
	// ResponseBudget bounds one response: an activity result holds a
	// response and the request that asked for it (URL and headers are
	// limited apart, see MaxURLBytes and MaxHeaderBytes).
	ResponseBudget = PayloadBudget - 128<<10
	// MaxNodeBytes bounds a node's JSON: the node is the workflow's input,
	// and each request of it goes into an activity's input.
	MaxNodeBytes = 1 << 20
	// MaxStatusBytes bounds a remote status kept in the node's state, its
	// progress and its result; a longer one is cut (it matches no list).
	MaxStatusBytes = 256
	// MaxTaskIDBytes bounds a task id read from the main response.
	MaxTaskIDBytes = 1024
)

// FitBudget cuts the bodies of rs, the one taking the most room first,
// until v (which holds them) encodes to at most budget bytes of JSON. A cut
// body is flagged Truncated with TruncatedBy CutByBudget. It reports
// whether it cut. It is deterministic, so workflow code may call it.
func FitBudget(v any, budget int, rs ...*Response) (cut bool) {
	for range 2 * (len(rs) + 2) {
		excess := encodedLen(v) - budget
		if excess <= 0 {
			return cut
		}
		r := roomiest(rs)
		if r == nil {
			return cut
		}
		r.cutBody(excess)
		cut = true
	}
	return cut
}

// FitResponse is FitBudget for a response alone. It first bounds r's
// encoding from above without encoding it (a byte is at most 6 as JSON, as
// \u00XX), so that the common response, far under the budget, costs no
// encoding at all.
func FitResponse(r *Response, budget int) bool {
	n := 512 + 6*(len(r.Body)+len(r.Status))
	//workflowcheck:ignore a sum: the order does not change it
	for k, v := range r.Headers {
		n += 6*(len(k)+len(v)) + 8
	}
	//workflowcheck:ignore a sum: the order does not change it
	for k, vs := range r.HeaderLists {
		n += 6 * len(k)
		for _, v := range vs {
			n += 6*len(v) + 8
		}
	}
	if n <= budget {
		return false
	}
	return FitBudget(r, budget, r)
}

// roomiest is the response of rs whose body takes the most room.
func roomiest(rs []*Response) *Response {
	var best *Response
	bestLen := 0
	for _, r := range rs {
		if r == nil || r.Body == "" {
			continue
		}
		if n := r.bodyLen(); n > bestLen {
			best, bestLen = r, n
		}
	}
	return best
}

// bodyLen is the room r's body takes in r's JSON: as JSON when it is JSON
// (see MarshalJSON), else as a string.
func (r *Response) bodyLen() int {
	if r.BodyEncoding == "" && json.Valid([]byte(r.Body)) {
		return encodedLen(json.RawMessage(r.Body))
	}
	return encodedLen(r.Body)
}

// cutBody shortens the body so that its encoding takes at least excess
// bytes (and some slack) less, at a character boundary (a base64 body at a
// 4-character one, so it still decodes). Once cut, a JSON body is no longer
// JSON: it is written as a string, whose escapes the cut accounts for.
func (r *Response) cutBody(excess int) {
	const slack = 1024
	keep := max(r.bodyLen()-excess-slack, 0)
	asString := max(encodedLen(r.Body), 1)
	n := int(float64(len(r.Body)) * float64(keep) / float64(asString))
	n = min(n, len(r.Body)-1)
	switch {
	case n <= 0:
		n = 0
	case r.BodyEncoding == "base64":
		n -= n % 4
	default:
		for n > 0 && !utf8.RuneStart(r.Body[n]) {
			n--
		}
	}
	r.Body, r.Truncated, r.TruncatedBy = r.Body[:n], true, CutByBudget
}

// encodedLen is the length of v as JSON; a value that does not encode
// counts as nothing (its payload fails on its own).
func encodedLen(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// ClipStatus cuts a remote status to MaxStatusBytes, marked with "…".
func ClipStatus(s string) string {
	if len(s) <= MaxStatusBytes {
		return s
	}
	n := MaxStatusBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
