package httpnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A flow reference is ${nodes.<id>.<what>} or ${flow.<what>}: data of an
// upstream node, or of the flow, that the Flow workflow puts in Node.Refs
// before the node starts.

// flowRefKinds are what a ${nodes.<id>.<kind>} reference may read; the
// first three take a key (an output's name, a body path, a header name).
var flowRefKinds = []string{"outputs", "body", "headers", "status", "statusCode", "taskId"}

// FlowFields are the flow's own references: ${flow.<name>}.
var FlowFields = []string{"name", "id", "runId", "scheduledTime"}

// flowRef is a parsed flow reference.
type flowRef struct {
	node string // "" for ${flow.…}
	kind string // a flowRefKinds entry, or a FlowFields entry for ${flow.…}
	key  string // the output, body path or header name
}

// isFlowRef reports whether the text between ${ and } is meant as a flow
// reference (well formed or not).
func isFlowRef(s string) bool {
	return strings.HasPrefix(s, "nodes.") || strings.HasPrefix(s, "flow.")
}

// parseFlowRef parses the text between ${ and } of a flow reference.
func parseFlowRef(s string) (flowRef, error) {
	if name, ok := strings.CutPrefix(s, "flow."); ok {
		if !slices.Contains(FlowFields, name) {
			return flowRef{}, fmt.Errorf("${%s} is not a flow reference (use ${flow.name}, ${flow.id}, ${flow.runId} or ${flow.scheduledTime})", s)
		}
		return flowRef{kind: name}, nil
	}
	rest, _ := strings.CutPrefix(s, "nodes.")
	id, rest, _ := strings.Cut(rest, ".")
	kind, key, hasKey := strings.Cut(rest, ".")
	bad := fmt.Errorf("${%s} is not a reference to a node (use ${nodes.<id>.outputs.<name>}, ${nodes.<id>.body.<path>}, ${nodes.<id>.headers.<Name>}, ${nodes.<id>.status}, ${nodes.<id>.statusCode} or ${nodes.<id>.taskId})", s)
	keyed := kind == "outputs" || kind == "body" || kind == "headers"
	if !validFlowID(id) || !slices.Contains(flowRefKinds, kind) || keyed != hasKey || (keyed && !validPath(key)) {
		return flowRef{}, bad
	}
	return flowRef{node: id, kind: kind, key: key}, nil
}

// RefUse is one flow reference in a node's field.
type RefUse struct {
	Field string // the field's path in the node: request.url, request.body, callback.headers.X-Run
	Ref   string // the text between ${ and }: nodes.export.outputs.fileUrl
}

// FlowRefs lists the flow references in the node's requests, field by field
// (in a stable order).
func (n Node) FlowRefs() []RefUse {
	var out []RefUse
	for _, nr := range n.namedRequests() {
		nr.fields(func(field, s string) {
			for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
				if isFlowRef(m[1]) {
					out = append(out, RefUse{Field: field, Ref: m[1]})
				}
			}
		})
	}
	return out
}

// namedRequest is one request of a node and its path.
type namedRequest struct {
	path string
	r    *Request
}

// namedRequests are the node's requests with their paths.
func (n *Node) namedRequests() []namedRequest {
	out := []namedRequest{{"request", &n.Request}}
	if n.Callback != nil {
		out = append(out, namedRequest{"callback", &n.Callback.Request})
	}
	if n.Notify != nil {
		out = append(out, namedRequest{"notify", &n.Notify.Request})
	}
	if n.Cancel != nil {
		out = append(out, namedRequest{"cancel", n.Cancel})
	}
	return out
}

// fields calls fn with every field of the request that may hold references
// (url, query values, headers, auth.username, body as its JSON text).
func (nr namedRequest) fields(fn func(field, s string)) {
	r := nr.r
	fn(nr.path+".url", r.URL)
	for _, k := range sortedOf(r.Query) {
		fn(nr.path+".query."+k, r.Query[k])
	}
	for _, k := range sortedOf(r.Headers) {
		fn(nr.path+".headers."+k, r.Headers[k])
	}
	if r.Auth != nil {
		fn(nr.path+".auth.username", r.Auth.Username)
	}
	fn(nr.path+".body", string(r.Body))
}

// checkFlowRef checks a flow reference against the nodes upstream of the
// node that holds it.
func checkFlowRef(ref string, upstream []string, index map[string]int) error {
	fr, err := parseFlowRef(ref)
	if err != nil {
		return err
	}
	if fr.node == "" {
		return nil
	}
	if _, ok := index[fr.node]; !ok {
		return fmt.Errorf("${%s}: %q is not a node of this flow", ref, fr.node)
	}
	if !slices.Contains(upstream, fr.node) {
		return fmt.Errorf("${%s}: node %q is not upstream of this node, so its result is not known when this node starts (add %q to needs)", ref, fr.node, fr.node)
	}
	return nil
}

// NodeData is what later nodes of a flow may read of a node that ended:
// its status, and its result when it ran.
type NodeData struct {
	Status string  `json:"status"`
	Result *Result `json:"result,omitempty"`
}

// FlowVars are the flow's own references' values.
type FlowVars struct {
	Name          string    `json:"name,omitempty"`
	ID            string    `json:"id"`
	RunID         string    `json:"runId"`
	ScheduledTime time.Time `json:"scheduledTime"`
}

// FlowRefValue returns the JSON value of a flow reference, given the data
// of the nodes that ended and the flow's values; ok is false when the
// value is missing: the node failed, was skipped or not run (only its
// status is known), or its result lacks the field.
func FlowRefValue(ref string, nodes map[string]NodeData, fv FlowVars) (json.RawMessage, bool) {
	fr, err := parseFlowRef(ref)
	if err != nil {
		return nil, false
	}
	if fr.node == "" {
		switch fr.kind {
		case "name":
			return jsonString(fv.Name), true
		case "id":
			return jsonString(fv.ID), true
		case "runId":
			return jsonString(fv.RunID), true
		default:
			return jsonString(fv.ScheduledTime.Format(time.RFC3339)), true
		}
	}
	d, ok := nodes[fr.node]
	if !ok {
		return nil, false
	}
	if fr.kind == "status" {
		return jsonString(d.Status), true
	}
	res := d.Result
	if d.Status != StatusSucceeded || res == nil {
		return nil, false
	}
	switch fr.kind {
	case "outputs":
		v, ok := res.Outputs[fr.key]
		return v, ok
	case "taskId":
		return jsonString(res.TaskID), res.TaskID != ""
	}
	resp := res.Response
	if resp == nil {
		return nil, false
	}
	switch fr.kind {
	case "statusCode":
		return json.RawMessage(strconv.Itoa(resp.StatusCode)), true
	case "headers":
		v, ok := resp.Headers[textproto.CanonicalMIMEHeaderKey(fr.key)] // Go keeps them canonical
		return jsonString(v), ok
	}
	return bodyValue(resp, fr.key)
}

// bodyValue is the JSON value at a dotted path of a response body (JSON,
// or XML as LookupBody reads it).
func bodyValue(resp *Response, path string) (json.RawMessage, bool) {
	v := ParseBody(resp.Headers["Content-Type"], resp.BodyBytes())
	for seg := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	if v == nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	return b, err == nil
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// LeaveOut returns the node without every field whose value uses a flow
// reference for which missing is true, and the paths of the fields left
// out: query values, headers, auth, body leaves (an object's key, a list's
// element), and a notify or cancel request whose URL needs it. blocked is
// the path of the URL (request.url, callback.url) that needs missing data:
// the node cannot run at all.
func (n Node) LeaveOut(missing func(ref string) bool) (out Node, skipped []string, blocked string) {
	uses := func(s string) bool {
		for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
			if isFlowRef(m[1]) && missing(m[1]) {
				return true
			}
		}
		return false
	}
	out = n
	if out.Callback != nil {
		cb := *out.Callback
		out.Callback = &cb
	}
	if out.Notify != nil {
		nt := *out.Notify
		out.Notify = &nt
	}
	if out.Cancel != nil {
		c := *out.Cancel
		out.Cancel = &c
	}
	for _, nr := range out.namedRequests() {
		r := nr.r
		if uses(r.URL) {
			switch nr.path {
			case "notify":
				out.Notify = nil
			case "cancel":
				out.Cancel = nil
			default:
				return n, nil, nr.path + ".url"
			}
			skipped = append(skipped, nr.path)
			continue
		}
		r.Query = without(nr.path+".query.", r.Query, uses, &skipped)
		r.Headers = without(nr.path+".headers.", r.Headers, uses, &skipped)
		if r.Auth != nil && uses(r.Auth.Username) {
			r.Auth = nil
			skipped = append(skipped, nr.path+".auth")
		}
		if len(r.Body) > 0 && uses(string(r.Body)) {
			dec := json.NewDecoder(bytes.NewReader(r.Body))
			dec.UseNumber()
			var body any
			if dec.Decode(&body) == nil {
				body = dropLeaves(nr.path+".body", body, uses, &skipped)
				if b, err := json.Marshal(body); err == nil {
					r.Body = b
				}
			}
		}
	}
	return out, skipped, ""
}

// without is m without the entries whose value uses missing data.
func without(prefix string, m map[string]string, uses func(string) bool, skipped *[]string) map[string]string {
	var out map[string]string
	for _, k := range sortedOf(m) {
		if uses(m[k]) {
			*skipped = append(*skipped, prefix+k)
			if out == nil {
				out = maps.Clone(m)
			}
			delete(out, k)
		}
	}
	if out == nil {
		return m
	}
	return out
}

// dropLeaves removes the strings of a JSON value that use missing data.
func dropLeaves(path string, v any, uses func(string) bool, skipped *[]string) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedOf(x) {
			if s, ok := x[k].(string); ok && uses(s) {
				*skipped = append(*skipped, path+"."+k)
				delete(x, k)
				continue
			}
			x[k] = dropLeaves(path+"."+k, x[k], uses, skipped)
		}
	case []any:
		kept := x[:0]
		for i, e := range x {
			if s, ok := e.(string); ok && uses(s) {
				*skipped = append(*skipped, fmt.Sprintf("%s.%d", path, i))
				continue
			}
			kept = append(kept, dropLeaves(fmt.Sprintf("%s.%d", path, i), e, uses, skipped))
		}
		return kept
	}
	return v
}

// whenNodeRef finds the node ids a when expression reads: nodes.<id> and
// nodes["<id>"].
var whenNodeRef = regexp.MustCompile(`\bnodes(?:\.([A-Za-z][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])`)

// checkWhenText checks a flow node's when as text (it is compiled by
// Flow.CheckExpressions, outside workflow code) and that it reads only the
// nodes upstream of it.
func checkWhenText(src string, upstream []string) error {
	if err := exprText(src, true); err != nil {
		return err
	}
	for _, m := range whenNodeRef.FindAllStringSubmatch(src, -1) {
		id := m[1] + m[2]
		if !slices.Contains(upstream, id) {
			return fmt.Errorf("%q reads node %q, which is not upstream of this node (add it to needs)", src, id)
		}
	}
	return nil
}

// WhenVars are the variables of a when expression: the upstream nodes'
// data and the flow's values.
func WhenVars(nodes map[string]NodeData, fv FlowVars) map[string]any {
	data := make(map[string]any, len(nodes))
	for id, d := range nodes {
		m := map[string]any{"status": d.Status}
		if r := d.Result; r != nil {
			m["taskId"] = r.TaskID
			outputs := map[string]any{}
			for k, raw := range r.Outputs {
				var v any
				if json.Unmarshal(raw, &v) == nil {
					outputs[k] = v
				}
			}
			m["outputs"] = outputs
			if resp := r.Response; resp != nil {
				m["statusCode"] = int64(resp.StatusCode)
				headers := map[string]any{}
				for k, v := range resp.Headers {
					headers[strings.ToLower(k)] = v
				}
				m["headers"] = headers
				m["body"] = ParseBody(resp.Headers["Content-Type"], resp.BodyBytes())
			}
		}
		data[id] = m
	}
	return map[string]any{"nodes": data, "flow": map[string]string{
		"name": fv.Name, "id": fv.ID, "runId": fv.RunID, "scheduledTime": fv.ScheduledTime.Format(time.RFC3339)}}
}
