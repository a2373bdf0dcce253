package codec

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

const secretMessage = "request: upstream answered 500 with body password=hunter2-plaintext-marker"

func TestFailureConverter_EncryptsMessagesAndStackTraces(t *testing.T) {
	c := testCodec(t, testKey(t, "k1"))
	fc := FailureConverter(c)
	cause := errors.New("cause: " + secretMessage)
	in := temporal.NewNonRetryableApplicationError(secretMessage, "HTTPStatus", cause, "detail: "+secretMessage)

	failure := fc.ErrorToFailure(in)

	for f, depth := failure, 0; f != nil; f, depth = f.GetCause(), depth+1 {
		require.Equal(t, "Encoded failure", f.GetMessage(), "depth %d", depth)
		require.Empty(t, f.GetStackTrace(), "depth %d", depth)
		requireEncrypted(t, f.GetEncodedAttributes(), "k1", secretMessage)
	}
	require.NotNil(t, failure.GetCause(), "the cause was dropped")
	require.Equal(t, "HTTPStatus", failure.GetApplicationFailureInfo().GetType(), "the error type must stay in clear")
	wire, err := failure.Marshal()
	require.NoError(t, err)
	requireHidden(t, wire, secretMessage)
	requireHidden(t, wire, "hunter2")

	out := fc.FailureToError(failure)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, out, &appErr)
	require.Equal(t, secretMessage, appErr.Message())
	require.Equal(t, "HTTPStatus", appErr.Type())
	require.True(t, appErr.NonRetryable())
	var detail string
	require.NoError(t, appErr.Details(&detail))
	require.Equal(t, "detail: "+secretMessage, detail)
	require.ErrorContains(t, errors.Unwrap(out), "cause: "+secretMessage)
}

func TestFailureConverter_ReadsFailuresFromOlderKeys(t *testing.T) {
	k1, k2 := testKey(t, "k1"), testKey(t, "k2")
	failure := FailureConverter(testCodec(t, k1)).ErrorToFailure(temporal.NewApplicationError(secretMessage, "HTTPStatus"))

	var appErr *temporal.ApplicationError
	require.ErrorAs(t, FailureConverter(testCodec(t, k2, k1)).FailureToError(failure), &appErr)
	require.Equal(t, secretMessage, appErr.Message())
}

// JSON is written without HTML escaping, and both converters read what the
// other writes.
func TestConverter_NoHTMLEscaping(t *testing.T) {
	v := map[string]string{"body": "<b>a & b</b>"}
	p, err := Converter().ToPayload(v)
	require.NoError(t, err)
	require.Equal(t, `{"body":"<b>a & b</b>"}`, string(p.GetData()))
	var back map[string]string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &back))
	require.Equal(t, v, back)
	p, err = converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	require.Contains(t, string(p.GetData()), `\u003cb\u003e`)
	back = nil
	require.NoError(t, Converter().FromPayload(p, &back))
	require.Equal(t, v, back)
}
