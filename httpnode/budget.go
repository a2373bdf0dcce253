package httpnode

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/httpnode/httpnode/internal/jsonenc"
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
//
// It measures the bodies without encoding them: v is encoded once with
// the bodies left out, and each body's room is bounded from above by a scan
// (see bodyRoom). A megabyte body so costs a scan or two instead of
// encodings that each copy it; workflow code calls this in a workflow task,
// whose goroutine must yield within a second (under the race detector,
// encoding two such bodies a few times took longer).
func FitBudget(v any, budget int, rs ...*Response) (cut bool) {
	rs = distinct(rs)
	bodies := make([]string, len(rs))
	for i, r := range rs {
		bodies[i], r.Body = r.Body, ""
	}
	total := encodedLen(v)
	rooms := make([]int, len(rs))
	for i, r := range rs {
		r.Body = bodies[i]
		rooms[i] = r.bodyRoom()
		total += rooms[i]
	}
	for range 2 * (len(rs) + 2) {
		excess := total - budget
		if excess <= 0 {
			return cut
		}
		i := roomiest(rooms)
		if i < 0 {
			return cut
		}
		r := rs[i]
		if r.TruncatedBy != CutByBudget {
			total += truncatedRoom
		}
		r.cutBody(excess, rooms[i])
		total -= rooms[i]
		rooms[i] = r.bodyRoom()
		total += rooms[i]
		cut = true
	}
	return cut
}

// truncatedRoom bounds what the flags of a cut body add to its response.
const truncatedRoom = len(`,"truncated":true,"truncatedBy":"payloadBudget"`)

// FitResponse is FitBudget for a response alone. It first bounds r's
// encoding from above without scanning its body (a byte is at most 6 as
// JSON, as \u00XX), so that the common response, far under the budget,
// costs next to nothing.
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

// distinct is rs without nils and repeats, in order.
func distinct(rs []*Response) []*Response {
	out := make([]*Response, 0, len(rs))
	for _, r := range rs {
		if r != nil && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// roomiest is the index of the largest room, or -1 when all are empty.
func roomiest(rooms []int) int {
	best := -1
	for i, n := range rooms {
		if n > 0 && (best < 0 || n > rooms[best]) {
			best = i
		}
	}
	return best
}

// bodyRoom bounds from above the room r's body takes in r's JSON (see
// MarshalJSON), its field name included: a JSON body is embedded
// compacted, so it takes at most its length; any other body takes its
// length as a JSON string.
func (r *Response) bodyRoom() int {
	switch {
	case r.Body == "":
		return 0
	case r.BodyEncoding == "" && json.Valid([]byte(r.Body)):
		return len(`,"bodyJson":`) + len(r.Body)
	}
	return len(`,"body":`) + stringRoom(r.Body)
}

// stringRoom bounds from above the length of s as a JSON string, as the
// worker's converter writes it (no HTML escaping): quotes, two bytes for
// the escapes \" \\ \b \f \n \r \t, six (\u00XX, \ufffd) for other control
// bytes, bytes that are not UTF-8, U+2028 and U+2029.
func stringRoom(s string) int {
	n := 2
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1, c == '\u2028', c == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// cutBody shortens the body, whose room is room, so that it takes at least
// excess bytes (and some slack) less, at a character boundary (a base64
// body at a 4-character one, so it still decodes). Once cut, a JSON body is
// no longer JSON: it is written as a string, whose escapes the cut
// accounts for.
func (r *Response) cutBody(excess, room int) {
	const slack = 1024
	keep := max(room-excess-slack, 0)
	asString := max(stringRoom(r.Body), 1)
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

// encodedLen is the length of v as the worker's converter writes it; a
// value that does not encode counts as nothing (its payload fails on its
// own).
func encodedLen(v any) int {
	b, err := jsonenc.Marshal(v)
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
	return cutBytes(s, MaxStatusBytes) + "…"
}

// cutBytes is s cut to at most n bytes (n < len(s)), on a rune boundary.
func cutBytes(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// OneLine is s on one line (runs of white space become one space), cut
// to max characters ending in "…".
func OneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}
