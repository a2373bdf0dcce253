package httpnode

import (
	"encoding/json"
	"errors"
)

// Helpers for parent workflows and clients that run nodes and flows.

// JSONBody is v as a request body: any value json.Marshal takes (a map, a
// struct), e.g. Request{Method: "POST", Body: httpnode.JSONBody(order)}.
// A value json.Marshal refuses (a channel, a func) gives the body null,
// which Validate refuses as a body that is not an object or list.
func JSONBody(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// Retries is a retry of n more attempts after the first (0: none) at the
// default interval, e.g. Node{Retry: httpnode.Retries(0)}.
func Retries(n int) *Retry { return &Retry{Count: &n} }

// detailer is what Temporal's ApplicationError and CanceledError have: the
// values they carry.
type detailer interface {
	HasDetails() bool
	Details(d ...any) error
}

// ResultOf returns the node's Result that a failed or cancelled HTTPNode
// workflow carries in its error (a child's, or a client's Get), or nil.
func ResultOf(err error) *Result {
	var res Result
	if detailsOf(err, &res) && res.Status != "" {
		return &res
	}
	return nil
}

// FlowResultOf returns the FlowResult that a failed (FAILED, TIMED_OUT) or
// cancelled Flow workflow carries in its error, or nil.
func FlowResultOf(err error) *FlowResult {
	var res FlowResult
	if detailsOf(err, &res) && res.Status != "" {
		return &res
	}
	return nil
}

// detailsOf decodes the first error in err's chain that carries details
// into v.
func detailsOf(err error, v any) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if d, ok := e.(detailer); ok && d.HasDetails() {
			return d.Details(v) == nil
		}
	}
	return false
}
