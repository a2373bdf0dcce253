package codec

import (
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// DataConverter returns Converter with c applied to every payload it writes and reads: set it as
// client.Options.DataConverter on every worker and client of the namespace that reads or writes these histories.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(Converter(), c)
}

// FailureConverter returns the SDK's default failure converter with EncodeCommonAttributes on and DataConverter(c)
// as its data converter, so that the message and stack trace of every error (and its details and causes) are moved
// into an encrypted payload, Failure.EncodedAttributes, and the history shows only "Encoded failure". Set it as
// client.Options.FailureConverter next to DataConverter(c).
//
// It takes the codec because the SDK does not hand client.Options.DataConverter to the failure converter: a failure
// converter built without one would move messages into a plain JSON payload.
func FailureConverter(c *Codec) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          DataConverter(c),
		EncodeCommonAttributes: true,
	})
}
