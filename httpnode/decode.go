package httpnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Decode reads a node from JSON strictly and validates it. Unknown or
// misspelt fields, values of the wrong type and invalid values are all
// reported, each with its field path, in one *ValidationError.
func Decode(data []byte) (Node, error) {
	var n Node
	if t := bytes.TrimSpace(data); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return n, &ValidationError{Problems: []FieldError{{Path: "node", Message: "input is empty (give a node object with at least request.url)"}}}
	}
	fatal, errs := checkSyntax(data)
	if len(fatal) > 0 {
		return n, &ValidationError{Problems: fatal}
	}
	decodeStrict(data, reflect.ValueOf(&n).Elem(), "", &errs)
	if len(errs) > 0 && errs[len(errs)-1].Path == "node" && errs[len(errs)-1].Message == "must be an object" {
		return n, &ValidationError{Problems: errs}
	}
	// Validate what did decode too, so one run reports every problem; a
	// field that failed to decode is not reported again as missing.
	var verr *ValidationError
	if errors.As(n.Validate(), &verr) {
		decodeErrs := errs
		for _, p := range verr.Problems {
			if !covered(decodeErrs, p.Path) {
				errs = append(errs, p)
			}
		}
	}
	if len(errs) == 0 {
		return n, nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return n, &ValidationError{Problems: errs}
}

// covered reports whether path or one of its parents already has a problem.
func covered(errs []FieldError, path string) bool {
	for _, e := range errs {
		if path == e.Path || strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(e.Path, path+".") {
			return true
		}
	}
	return false
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// decodeStrict decodes raw into v, recording every problem under its path.
func decodeStrict(raw json.RawMessage, v reflect.Value, path string, errs *[]FieldError) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer && !reflect.PointerTo(t).Implements(unmarshalerType) {
		p := reflect.New(t.Elem())
		decodeStrict(raw, p.Elem(), path, errs)
		v.Set(p)
		return
	}
	if t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			*errs = append(*errs, FieldError{Path: orRoot(path), Message: "must be an object"})
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		//workflowcheck:ignore the keys are sorted before use
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			idx, ok := fields[k]
			if !ok {
				*errs = append(*errs, FieldError{Path: join(path, k), Message: unknownField(k, fields)})
				continue
			}
			decodeStrict(obj[k], v.FieldByIndex(idx), join(path, k), errs)
		}
		return
	}
	if t.Kind() == reflect.Slice && (t.Elem().Kind() == reflect.Struct || t.Elem().Kind() == reflect.Pointer) {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			*errs = append(*errs, FieldError{Path: orRoot(path), Message: "must be a list"})
			return
		}
		s := reflect.MakeSlice(t, len(list), len(list))
		for i, item := range list {
			decodeStrict(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
		}
		v.Set(s)
		return
	}
	if t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && (t.Elem().Kind() == reflect.Struct || t.Elem().Kind() == reflect.Pointer) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			*errs = append(*errs, FieldError{Path: orRoot(path), Message: "must be an object"})
			return
		}
		m := reflect.MakeMapWithSize(t, len(obj))
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			e := reflect.New(t.Elem()).Elem()
			decodeStrict(obj[k], e, join(path, k), errs)
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		v.Set(m)
		return
	}
	p := reflect.New(t)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		*errs = append(*errs, FieldError{Path: orRoot(path), Message: typeMessage(err, t)})
		return
	}
	v.Set(p.Elem())
}

// typeMessage turns a json error into a message that says what is allowed.
func typeMessage(err error, t reflect.Type) string {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		var syntaxErr *json.SyntaxError
		if errors.As(err, &syntaxErr) {
			return "is not valid JSON: " + err.Error()
		}
		return err.Error() // our own UnmarshalJSON messages already say what to do
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Int, reflect.Int64:
		return "must be a whole number"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Slice:
		return "must be a list of strings"
	case reflect.Map:
		return "must be an object whose values are strings"
	}
	return fmt.Sprintf("has the wrong type (%v)", err)
}

// jsonFields maps each JSON name of struct t (embedded structs flattened) to
// its field index.
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			//workflowcheck:ignore builds a map: the order does not matter
			for k, idx := range jsonFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out[name] = []int{i}
	}
	return out
}

func unknownField(k string, fields map[string][]int) string {
	best, bestDist := "", max(3, len(k)/3+1)
	lk := strings.ToLower(k)
	//workflowcheck:ignore the closest name wins, ties by name: the order does not matter
	for name := range fields {
		ln := strings.ToLower(name)
		d := editDistance(lk, ln)
		if commonPrefix(lk, ln) >= 4 {
			d = min(d, 2) // "retries" for "retry", "head" for "headers"
		}
		if d < bestDist || (d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field (did you mean %q?)", best)
	}
	names := make([]string, 0, len(fields))
	//workflowcheck:ignore the names are sorted before use
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return "unknown field (allowed: " + strings.Join(names, ", ") + ")"
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(path string) string {
	if path == "" {
		return "node"
	}
	return path
}
