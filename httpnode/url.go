package httpnode

import (
	"fmt"
	"net/url"
	"strings"
)

// renderURL renders a URL template. A template that is one reference takes
// the value as the whole URL; otherwise references may stand in the path,
// query and fragment only.
func (v *Vars) renderURL(path, tmpl string, errs *[]FieldError) string {
	if loc := refPattern.FindStringIndex(tmpl); loc != nil && loc[0] == 0 && loc[1] == len(tmpl) {
		out := v.renderString(path, tmpl, identity, errs)
		if out != tmpl {
			if u, err := url.Parse(out); err != nil || !IsAbsoluteHTTP(u) {
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
