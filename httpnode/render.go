package httpnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Vars are what one rendering stage substitutes. A reference the stage does
// not resolve (a secret, or a built-in it is not given) is left in place for
// a later stage; an unknown parameter is an error once Params is set.
type Vars struct {
	Params   map[string]string // global and node parameters, merged
	Builtins map[string]string // built-ins known at this stage (Builtins)
	Time     time.Time         // the scheduled time in the node's zone; zero leaves macros
	// Refs are the values of the flow references (Node.Refs); nil leaves
	// them.
	Refs map[string]json.RawMessage
	used map[string]string
}

// resolve returns the value of one reference; ok is false to leave it.
func (v *Vars) resolve(text string) (val string, ok bool, err error) {
	r, err := parseRef(text)
	if err != nil {
		return "", false, err
	}
	switch r.kind {
	case refBuiltin:
		val, ok = v.Builtins[r.name]
		return val, ok, nil
	case refMacro:
		if v.Time.IsZero() {
			return "", false, nil
		}
		return r.macro.At(v.Time), true, nil
	case refFlow:
		if v.Refs == nil {
			return "", false, nil
		}
		raw, ok := v.Refs[r.name]
		if !ok {
			return "", false, fmt.Errorf("${%s} has no value: it refers to the data of a flow (a node run alone, outside a flow, has none)", r.name)
		}
		if err := refValueSafe(r.name, raw); err != nil {
			return "", false, err
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true, nil
		}
		return string(raw), true, nil
	case refParam:
		if v.Params == nil {
			return "", false, nil
		}
		val, ok = v.Params[r.name]
		if !ok {
			return "", false, fmt.Errorf("unknown parameter ${%s} (define it in the node's params, pass --param %s=..., or set it on the worker as HTTPNODE_PARAM_%s)", r.name, r.name, r.name)
		}
		if v.used != nil {
			v.used[r.name] = val
		}
		return val, true, nil
	}
	return "", false, nil // secrets are resolved by the worker at send time
}

// renderString substitutes the references in s, escaping each value.
func (v *Vars) renderString(path, s string, escape func(string) string, errs *[]FieldError) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return refPattern.ReplaceAllStringFunc(s, func(m string) string {
		val, ok, err := v.resolve(m[2 : len(m)-1])
		if err != nil {
			*errs = append(*errs, FieldError{path, err.Error()})
			return m
		}
		if !ok {
			return m
		}
		return escape(val)
	})
}

func identity(s string) string { return s }

// RenderRequest substitutes references in every field of r, escaping per
// context: path-escaped in the URL's path, query-escaped in its query,
// JSON-escaped in a JSON body; a header value may not gain CR or LF, and no
// value can change the URL's scheme or host unless it is the whole URL.
// Problems are returned as a *ValidationError. path names r ("request").
func RenderRequest(path string, r Request, v *Vars) (Request, error) {
	var errs []FieldError
	r.URL = v.renderURL(path+".url", r.URL, &errs)
	if r.Query != nil {
		q := make(map[string]string, len(r.Query))
		for _, k := range slices.Sorted(maps.Keys(r.Query)) {
			q[k] = v.renderString(path+".query."+k, r.Query[k], identity, &errs)
		}
		r.Query = q
	}
	if r.Headers != nil {
		h := make(map[string]string, len(r.Headers))
		for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
			val := v.renderString(path+".headers."+k, r.Headers[k], identity, &errs)
			if strings.ContainsAny(val, "\r\n") {
				errs = append(errs, FieldError{path + ".headers." + k, "a parameter put CR or LF into the header value"})
			}
			h[k] = val
		}
		r.Headers = h
	}
	if r.Auth != nil {
		au := *r.Auth
		au.Username = v.renderString(path+".auth.username", au.Username, identity, &errs)
		r.Auth = &au
	}
	if len(r.Body) > 0 && bytes.Contains(r.Body, []byte("${")) {
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		var body any
		if err := dec.Decode(&body); err == nil {
			body = mapStrings(body, func(s string) any {
				if raw, ok := v.typedRef(s); ok {
					return raw // exactly one flow reference: its JSON type stays
				}
				return v.renderString(path+".body", s, identity, &errs)
			})
			if b, err := json.Marshal(body); err == nil {
				r.Body = b
			}
		}
	}
	if len(errs) > 0 {
		return r, &ValidationError{Problems: errs}
	}
	return r, nil
}

// typedRef is the JSON value of s when s is exactly one flow reference
// whose value is not a string.
func (v *Vars) typedRef(s string) (json.RawMessage, bool) {
	if !strings.HasPrefix(s, "${") || !strings.HasSuffix(s, "}") || strings.Count(s, "${") != 1 || v.Refs == nil {
		return nil, false
	}
	raw, ok := v.Refs[s[2:len(s)-1]]
	if !ok || len(raw) == 0 || raw[0] == '"' || refValueSafe(s, raw) != nil {
		return nil, false // a string, or a value renderString refuses
	}
	return raw, true
}

// refValueSafe refuses a flow reference's value that holds "${": it comes
// from an upstream node's response, and a later stage would read it as a
// reference (a secret, ${callbackUrl}) the node never wrote.
func refValueSafe(name string, raw json.RawMessage) error {
	if bytes.Contains(raw, []byte("${")) {
		return fmt.Errorf("the value of ${%s} holds \"${\", which this node cannot send (it would be read as a reference); the upstream node's data must not carry references", name)
	}
	return nil
}

func mapStrings(v any, fn func(string) any) any {
	switch x := v.(type) {
	case string:
		return fn(x)
	case []any:
		for i := range x {
			x[i] = mapStrings(x[i], fn)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			x[k] = mapStrings(x[k], fn)
		}
	}
	return v
}

// Rendered is a node's requests with its parameters, built-ins and time
// macros substituted, as recorded once per node run. Secrets stay
// references; ${attempt} and ${taskId} are filled in later.
type Rendered struct {
	Request  Request  `json:"request"`
	Callback *Request `json:"callback,omitempty"`
	Notify   *Request `json:"notify,omitempty"`
	Cancel   *Request `json:"cancel,omitempty"`
	// Params are the parameters the node used, with their values.
	Params map[string]string `json:"params,omitempty"`
	// ScheduledTime is the time macros were computed from, in TimeZone.
	ScheduledTime time.Time `json:"scheduledTime"`
	TimeZone      string    `json:"timeZone"`
	// StuckAttribute says the namespace has the HttpNodeStuck search
	// attribute, so a stuck node can be found by it.
	StuckAttribute bool `json:"stuckAttribute,omitempty"`
}

// RenderEnv is what rendering a node needs from the worker and the run.
type RenderEnv struct {
	Globals  map[string]string // the worker's global parameters
	Builtins map[string]string // nodeName, workflowId, runId
	// Time is the scheduled time; Zone the worker's default time zone (UTC
	// when nil), used unless the node names its own.
	Time time.Time
	Zone *time.Location
}

// Render substitutes parameters (node params over globals), built-ins and
// time macros in the node's requests. Every problem is reported, with its
// field path, in one *ValidationError.
func (n Node) Render(env RenderEnv) (Rendered, error) {
	zone := env.Zone
	if zone == nil {
		zone = time.UTC
	}
	if n.TimeZone != "" {
		z, err := time.LoadLocation(n.TimeZone)
		if err != nil {
			return Rendered{}, &ValidationError{Problems: []FieldError{{"timeZone", fmt.Sprintf("%q is not a time zone (use an IANA name such as \"Europe/Berlin\" or \"UTC\")", n.TimeZone)}}}
		}
		zone = z
	}
	params := maps.Clone(env.Globals)
	if params == nil {
		params = map[string]string{}
	}
	maps.Copy(params, n.Params)
	v := &Vars{Params: params, Builtins: env.Builtins, Time: env.Time.In(zone), Refs: n.Refs, used: map[string]string{}}
	if v.Refs == nil {
		v.Refs = map[string]json.RawMessage{} // a flow reference without a value is an error now
	}
	out := Rendered{ScheduledTime: v.Time, TimeZone: zone.String()}
	var problems []FieldError
	var err error
	out.Request, err = RenderRequest("request", n.Request, v)
	problems = appendProblems(problems, err)
	if n.Callback != nil {
		cb, err := RenderRequest("callback", n.Callback.Request, v)
		problems = appendProblems(problems, err)
		out.Callback = &cb
	}
	if n.Notify != nil {
		nt, err := RenderRequest("notify", n.Notify.Request, v)
		problems = appendProblems(problems, err)
		out.Notify = &nt
	}
	if n.Cancel != nil {
		c, err := RenderRequest("cancel", *n.Cancel, v)
		problems = appendProblems(problems, err)
		out.Cancel = &c
	}
	if len(v.used) > 0 {
		out.Params = v.used
	}
	if len(problems) > 0 {
		return out, &ValidationError{Problems: problems}
	}
	return out, nil
}

func appendProblems(list []FieldError, err error) []FieldError {
	if ve, ok := err.(*ValidationError); ok {
		return append(list, ve.Problems...)
	}
	return list
}

// NeedsRender reports whether the node refers to anything rendered at the
// start of a node run: parameters, time macros, nodeName, workflowId or runId.
// A node without such references skips rendering (and its history event).
func (n Node) NeedsRender() bool {
	needs := false
	check := func(s string) {
		for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
			r, err := parseRef(m[1])
			if err == nil && (r.kind == refParam || r.kind == refMacro || r.kind == refFlow || (r.kind == refBuiltin && r.name != "attempt" && r.name != "taskId" && r.name != "callbackUrl")) {
				needs = true
			}
		}
	}
	for _, r := range n.requests() {
		check(r.URL)
		//workflowcheck:ignore any-of: the order does not change the answer
		for _, v := range r.Query {
			check(v)
		}
		//workflowcheck:ignore any-of: the order does not change the answer
		for _, v := range r.Headers {
			check(v)
		}
		if r.Auth != nil {
			check(r.Auth.Username)
		}
		check(string(r.Body)) // references stand inside JSON strings as they are
	}
	stuck := n.Callback != nil && (n.Callback.StuckAfterPolls > 0 || n.Callback.StuckAfter > 0)
	return needs || n.TimeZone != "" || stuck // stuck detection needs to know the namespace's search attributes
}

// requests are every request of the node: main, callback, notify, cancel.
func (n Node) requests() []Request {
	reqs := []Request{n.Request}
	if n.Callback != nil {
		reqs = append(reqs, n.Callback.Request)
	}
	if n.Notify != nil {
		reqs = append(reqs, n.Notify.Request)
	}
	if n.Cancel != nil {
		reqs = append(reqs, *n.Cancel)
	}
	return reqs
}
