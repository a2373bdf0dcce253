package httpnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// StatusURL builds the URL of a poll: taskID is put where ${taskId} stands
// (path-escaped in the path, query-escaped in the query), or else appended as
// one escaped path segment. A task id cannot add path segments or query
// parameters.
func StatusURL(base, taskID string) (string, error) {
	if taskID == "" || taskID == "." || taskID == ".." {
		return "", fmt.Errorf("task id %q cannot be used in a URL", taskID)
	}
	if strings.Contains(base, TaskIDRef) {
		pathPart, queryPart, hasQuery := strings.Cut(base, "?")
		out := strings.ReplaceAll(pathPart, TaskIDRef, url.PathEscape(taskID))
		if hasQuery {
			out += "?" + strings.ReplaceAll(queryPart, TaskIDRef, url.QueryEscape(taskID))
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

// WithTaskID returns the callback request with ${taskId} replaced in query
// and header values and in the string values of a JSON or form body.
func WithTaskID(r Request, taskID string) Request {
	sub := func(s string) string { return strings.ReplaceAll(s, TaskIDRef, taskID) }
	r.Query = mapValues(r.Query, sub)
	r.Headers = mapValues(r.Headers, sub)
	if len(r.Body) > 0 && strings.Contains(string(r.Body), TaskIDRef) {
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			if b, err := json.Marshal(mapStrings(v, sub)); err == nil {
				r.Body = b
			}
		}
	}
	return r
}

func mapValues(m map[string]string, fn func(string) string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fn(v)
	}
	return out
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
		for k := range x {
			x[k] = mapStrings(x[k], fn)
		}
	}
	return v
}
