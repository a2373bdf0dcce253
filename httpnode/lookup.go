package httpnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// validPath reports whether p is a dotted path: non-empty segments.
func validPath(p string) bool {
	for seg := range strings.SplitSeq(p, ".") {
		if seg == "" {
			return false
		}
	}
	return p != ""
}

// Lookup returns the scalar at the dotted path in a JSON document ("taskId",
// "data.job.id", "items.0.status"). Numbers keep their JSON text. It fails
// when the body is not JSON, the path does not exist or ends at an object,
// list or null.
func Lookup(body []byte, path string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("the body is not JSON")
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok {
				return "", fmt.Errorf("the body has no field %q", path)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("the body has no field %q", path)
			}
			v = x[i]
		default:
			return "", fmt.Errorf("the body has no field %q", path)
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", fmt.Errorf("field %q is null", path)
	default:
		return "", fmt.Errorf("field %q is an object or list, not a value", path)
	}
}
