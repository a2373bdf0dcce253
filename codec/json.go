package codec

import (
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/httpnode/httpnode/internal/jsonenc"
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
	data, err := jsonenc.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", converter.ErrUnableToEncode, err)
	}
	return &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)}, Data: data}, nil
}
