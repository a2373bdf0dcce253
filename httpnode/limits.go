package httpnode

import "fmt"

// Limits of one outbound request and its response: a node cannot make the
// worker send or hold more than this, whatever it asks for.
const (
	MaxURLBytes            = 8 << 10   // a URL, query included
	MaxHeaders             = 64        // request headers
	MaxHeaderBytes         = 32 << 10  // request header names and values together
	MaxRequestBodyBytes    = 512 << 10 // a request body (it is stored in history too)
	MaxResponseHeaderBytes = 64 << 10  // response headers, read before the body
	DefaultMaxRedirects    = 5         // hops followed with followRedirects
	MaxRedirectsLimit      = 20
)

// Size is the size of a request, as written in a node or as it goes out.
type Size struct {
	URLBytes    int
	Headers     int
	HeaderBytes int
	BodyBytes   int
}

// Problems lists every limit s exceeds, each under path (e.g. "request")
// with the limit and what to do; nil when s is within them all.
func (s Size) Problems(path string) []FieldError {
	var out []FieldError
	add := func(field string, got, limit int, what, todo string) {
		if got > limit {
			out = append(out, FieldError{path + "." + field, fmt.Sprintf("%s is %d, above the limit of %d (%s)", what, got, limit, todo)})
		}
	}
	add("url", s.URLBytes, MaxURLBytes, "length in bytes", "move data into the body")
	add("headers", s.Headers, MaxHeaders, "number of headers", "send fewer headers")
	add("headers", s.HeaderBytes, MaxHeaderBytes, "size of names and values in bytes", "send smaller headers")
	add("body", s.BodyBytes, MaxRequestBodyBytes, "size in bytes", "send a reference to the data, not the data")
	return out
}

// size is the size of r as written (before parameters and secrets).
func (r Request) size() Size {
	s := Size{URLBytes: len(r.URL), Headers: len(r.Headers), BodyBytes: len(r.Body)}
	//workflowcheck:ignore a sum: the order does not change it
	for k, v := range r.Headers {
		s.HeaderBytes += len(k) + len(v)
	}
	return s
}
