package codec

import (
	"bytes"
	"encoding/json"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// Converter returns the SDK's default data converter with one change: JSON
// is written without HTML escaping, so that "<", ">" and "&" in results
// and bodies stay as they are in history and the CLI's output instead of
// becoming \u003c, \u003e and \u0026 (six bytes each). It reads everything
// the default converter writes, and the default converter reads what it
// writes. DataConverter builds on it.
func Converter() converter.DataConverter {
	return converter.NewCompositeDataConverter(
		converter.NewNilPayloadConverter(),
		converter.NewByteSlicePayloadConverter(),
		converter.NewProtoJSONPayloadConverter(),
		converter.NewProtoPayloadConverter(),
		jsonPayloadConverter{converter.NewJSONPayloadConverter()},
	)
}

// jsonPayloadConverter is the SDK's JSON payload converter without HTML
// escaping.
type jsonPayloadConverter struct {
	*converter.JSONPayloadConverter
}

// ToPayload implements converter.PayloadConverter.
func (jsonPayloadConverter) ToPayload(value any) (*commonpb.Payload, error) {
	data, err := MarshalJSON(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", converter.ErrUnableToEncode, err)
	}
	return &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)}, Data: data}, nil
}

// MarshalJSON is json.Marshal without HTML escaping.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
