package httpnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxNodeDepth bounds how deeply a node's JSON may nest (a body is the
// only deep part of a node; a hundred levels is a generated file gone wrong).
const MaxNodeDepth = 64

var utf8BOM = []byte("\xEF\xBB\xBF")

// checkSyntax reads data as one JSON value and reports what a decoder would
// otherwise hide: a syntax error at its line and column, a byte order
// mark, an input cut short, a second value after the first, a field given
// twice (the last would win silently), nesting past MaxNodeDepth and a
// node larger than MaxNodeBytes. It returns nil for a well-formed node.
//
// fatal problems stop decoding; the others (a duplicate field, nesting, the
// size) are rules a decoder would not enforce: the node still decodes, and
// nodes started before the rules must replay as they ran (see
// ValidationError.NewRulesOnly).
func checkSyntax(data []byte) (fatal, rules []FieldError) {
	node := func(format string, args ...any) []FieldError {
		return []FieldError{{Path: "node", Message: fmt.Sprintf(format, args...)}}
	}
	if bytes.HasPrefix(data, utf8BOM) {
		return node("starts with a UTF-8 byte order mark (line 1, column 1): save the file as UTF-8 without it"), nil
	}
	if len(data) > MaxNodeBytes {
		rules = append(rules, FieldError{Path: "node", Message: fmt.Sprintf(ruleTooLarge+"%d bytes (it is %d: a node is the workflow's input; send large data by reference, not in the node)", MaxNodeBytes, len(data))})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := syntaxWalker{dec: dec}
	if err := w.value(""); err != nil {
		return []FieldError{w.problem(data, err)}, nil
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		line, col := lineCol(data, int(dec.InputOffset()))
		return node("line %d, column %d: more JSON follows the node (give one node object per file)", line, col), nil
	}
	return nil, append(rules, w.rules...)
}

// syntaxWalker walks a JSON value token by token, keeping the path.
type syntaxWalker struct {
	dec   *json.Decoder
	depth int
	rules []FieldError // fields given twice, nesting too deep
	path  string       // where the error happened
	deep  bool
}

func (w *syntaxWalker) value(path string) error {
	w.path = path
	t, err := w.dec.Token()
	if err != nil {
		return err
	}
	d, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > MaxNodeDepth && !w.deep {
		w.deep = true
		w.rules = append(w.rules, FieldError{Path: orRoot(path), Message: fmt.Sprintf(ruleTooDeep+"%d levels (flatten the body, or send it by reference)", MaxNodeDepth)})
	}
	if d == '[' {
		for i := 0; w.dec.More(); i++ {
			if err := w.value(path + "[" + strconv.Itoa(i) + "]"); err != nil {
				return err
			}
		}
	} else {
		seen := map[string]bool{}
		for w.dec.More() {
			t, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := t.(string)
			if seen[key] {
				w.rules = append(w.rules, FieldError{Path: join(path, key), Message: ruleTwice})
			}
			seen[key] = true
			if err := w.value(join(path, key)); err != nil {
				return err
			}
		}
	}
	_, err = w.dec.Token() // the closing delimiter
	return err
}

// NewRulesOnly reports whether every problem of e is one of the rules
// added since nodes were first decoded (a field given twice, nesting past
// MaxNodeDepth, a node over MaxNodeBytes, an unknown field in an item of a
// list such as failWhen): the node decoded in full, the last of each
// twice-given field winning, unknown fields in list items ignored. Nodes started before the rules
// ran so, and must replay so.
func (e *ValidationError) NewRulesOnly() bool {
	for _, p := range e.Problems {
		inList := strings.Contains(p.Path, "[") && strings.HasPrefix(p.Message, "unknown field")
		if p.Message != ruleTwice && !strings.HasPrefix(p.Message, ruleTooDeep) && !strings.HasPrefix(p.Message, ruleTooLarge) && !inList {
			return false
		}
	}
	return len(e.Problems) > 0
}

// The messages of the rules NewRulesOnly knows.
const (
	ruleTwice    = "is given twice (each field may appear once; remove one)"
	ruleTooDeep  = "nests deeper than "
	ruleTooLarge = "is larger than the limit of "
)

// problem describes err, the walk having stopped at w.path.
func (w *syntaxWalker) problem(data []byte, err error) FieldError {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := lineCol(data, len(bytes.TrimRight(data, " \t\r\n"))-1)
		return FieldError{Path: "node", Message: fmt.Sprintf("line %d, column %d: the JSON ends before the node does (is the file cut short?)", line, col)}
	case errors.As(err, &syn):
		// the token reader's offsets are coarse; Unmarshal's check names the byte
		var v any
		_ = errors.As(json.Unmarshal(data, &v), &syn)
		line, col := lineCol(data, int(syn.Offset)-1)
		msg := fmt.Sprintf("line %d, column %d: %s", line, col, syn.Error())
		if strings.Contains(syn.Error(), "looking for beginning of object key string") || strings.Contains(syn.Error(), "looking for beginning of value") {
			msg += " (a comma before a closing bracket, or a missing value?)"
		}
		if line == 1 && col == 1 {
			msg += " (a node is a JSON object: {\"request\": {\"url\": \"https://...\"}})"
		}
		return FieldError{Path: "node", Message: msg}
	}
	return FieldError{Path: "node", Message: err.Error()}
}

// lineCol is the 1-based line and column of byte offset off in data.
func lineCol(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = off - bytes.LastIndexByte(before, '\n')
	return line, col
}
