package httpnode

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// LookupBody is Lookup for a body that may be JSON or XML: an XML body
// (by its Content-Type, or by a leading '<') is read as a tree whose root
// element is dropped, so "JobsDetail.State" reads
// <Response><JobsDetail><State>Success</State></JobsDetail></Response>.
// Repeated elements become lists ("JobsDetail.0.State"); attributes are
// ignored.
func LookupBody(contentType string, body []byte, path string) (string, error) {
	if !isXML(contentType, body) {
		return Lookup(body, path)
	}
	tree, err := xmlTree(body)
	if err != nil {
		return "", errors.New("the body is not JSON or XML")
	}
	b, _ := json.Marshal(tree)
	return Lookup(b, path)
}

func isXML(contentType string, body []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "xml") {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("<"))
}

// xmlTree reads an XML document into maps, lists and strings, without its
// root element.
func xmlTree(body []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.StartElement); ok {
			return xmlElement(dec)
		}
	}
}

// xmlElement reads the content of the element just started: its text when
// it has no child elements, else a map of its children.
func xmlElement(dec *xml.Decoder) (any, error) {
	var text strings.Builder
	children := map[string]any{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := xmlElement(dec)
			if err != nil {
				return nil, err
			}
			switch prev := children[t.Name.Local].(type) {
			case nil:
				children[t.Name.Local] = v
			case []any:
				children[t.Name.Local] = append(prev, v)
			default:
				children[t.Name.Local] = []any{prev, v}
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(children) == 0 {
				return strings.TrimSpace(text.String()), nil
			}
			return children, nil
		}
	}
}

// ParseBody is the body as expressions see it: JSON (numbers as int64
// when whole, else float64), or an XML body as LookupBody reads it; nil
// when it is neither.
func ParseBody(contentType string, body []byte) any {
	if isXML(contentType, body) {
		tree, err := xmlTree(body)
		if err != nil {
			return nil
		}
		return tree
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil
	}
	return numbers(v)
}

// numbers turns a decoded JSON value's json.Numbers into int64 (whole and
// in range) or float64.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		//workflowcheck:ignore each value is converted in place: the order does not change the result
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}
