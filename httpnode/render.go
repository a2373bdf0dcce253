package httpnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
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
	used     map[string]string
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
			body = mapStrings(body, func(s string) string { return v.renderString(path+".body", s, identity, &errs) })
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

// renderURL renders a URL template. A template that is one reference takes
// the value as the whole URL; otherwise references may stand in the path,
// query and fragment only.
func (v *Vars) renderURL(path, tmpl string, errs *[]FieldError) string {
	if loc := refPattern.FindStringIndex(tmpl); loc != nil && loc[0] == 0 && loc[1] == len(tmpl) {
		out := v.renderString(path, tmpl, identity, errs)
		if out != tmpl {
			if u, err := url.Parse(out); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				*errs = append(*errs, FieldError{path, fmt.Sprintf("parameter %s is not an absolute http(s) URL", tmpl)})
			}
		}
		return out
	}
	authEnd := authorityEnd(tmpl)
	if strings.Contains(tmpl[:authEnd], "${") {
		*errs = append(*errs, FieldError{path, "a parameter may not change the URL's scheme or host (make the whole URL one parameter instead)"})
		return tmpl
	}
	rest := tmpl[authEnd:]
	pathPart, query, fragment := rest, "", ""
	if i := strings.IndexByte(pathPart, '#'); i >= 0 {
		pathPart, fragment = pathPart[:i], pathPart[i:]
	}
	if i := strings.IndexByte(pathPart, '?'); i >= 0 {
		pathPart, query = pathPart[:i], pathPart[i:]
	}
	return tmpl[:authEnd] + encodedPath(dotSegments(pathPart, v.renderString(path, pathPart, url.PathEscape, errs))) +
		v.renderString(path, query, url.QueryEscape, errs) + v.renderString(path, fragment, url.PathEscape, errs)
}

// encodedPath escapes the bytes of a rendered path that may not stand in an
// encoded path (a literal space or ü of the template: values are escaped
// already; references left for later stages stay as they are), so that the URL keeps the path exactly as rendered: Go drops a
// raw path it finds invalid and escapes the decoded one again, which would
// turn a segment's %2E%2E back into "..".
func encodedPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if end := strings.IndexByte(p[i:], '}'); c == '$' && strings.HasPrefix(p[i:], "${") && end > 0 {
			b.WriteString(p[i : i+end+1]) // a reference a later stage fills in
			i += end
			continue
		}
		switch {
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			b.WriteByte(c)
		case c == '%':
			b.WriteString("%25")
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// dotSegments escapes the dots of every segment of the rendered path that a
// parameter made "." or "..", so that no value can climb out of its
// segment (a server would resolve /a/../b to /b). A parameter is path-escaped,
// so it never adds a "/": rendered and tmpl have the same segments.
func dotSegments(tmpl, rendered string) string {
	if !strings.Contains(rendered, ".") {
		return rendered
	}
	ts := strings.Split(ReplaceRefs(tmpl, func(string) string { return "x" }), "/") // a "/" inside ${...} is no separator
	rs := strings.Split(rendered, "/")
	if len(ts) != len(rs) {
		return rendered
	}
	for i, seg := range rs {
		if (seg == "." || seg == "..") && ts[i] != seg {
			rs[i] = strings.ReplaceAll(seg, ".", "%2E")
		}
	}
	return strings.Join(rs, "/")
}

// authorityEnd is where the scheme and host of a URL template end.
func authorityEnd(s string) int {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		return start + j
	}
	return len(s)
}

// StatusURL builds the URL of a poll: taskID is put where ${taskId} stands
// (escaped for the path or the query), or else appended as one escaped path
// segment. A task id cannot add path segments or query parameters.
func StatusURL(base, taskID string) (string, error) {
	if taskID == "" || taskID == "." || taskID == ".." {
		return "", fmt.Errorf("task id %q cannot be used in a URL", taskID)
	}
	if strings.Contains(base, TaskIDRef) {
		var errs []FieldError
		v := Vars{Builtins: map[string]string{"taskId": taskID}}
		out := v.renderURL("callback.url", base, &errs)
		if len(errs) > 0 {
			return "", &ValidationError{Problems: errs}
		}
		return out, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("callback.url: %v", cleanURLError(err))
	}
	escaped := strings.TrimRight(u.EscapedPath(), "/") + "/" + url.PathEscape(taskID)
	u.Path = strings.TrimRight(u.Path, "/") + "/" + taskID
	u.RawPath = escaped
	return u.String(), nil
}

func mapStrings(v any, fn func(string) string) any {
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
	v := &Vars{Params: params, Builtins: env.Builtins, Time: env.Time.In(zone), used: map[string]string{}}
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
			if err == nil && (r.kind == refParam || r.kind == refMacro || (r.kind == refBuiltin && r.name != "attempt" && r.name != "taskId" && r.name != "callbackUrl")) {
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
