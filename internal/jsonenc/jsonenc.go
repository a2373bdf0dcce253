// Package jsonenc writes JSON as httpnode stores it: like json.Marshal,
// but without HTML escaping, so "<", ">" and "&" stay one byte each instead
// of becoming \u003c, \u003e and \u0026.
package jsonenc

import (
	"bytes"
	"encoding/json"
)

// Marshal is json.Marshal without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
