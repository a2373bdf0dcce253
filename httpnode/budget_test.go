package httpnode

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/internal/jsonenc"
)

// Bodies that grow when escaped are cut until what holds them fits the
// budget; the cut is flagged and said.
func TestFitBudget_CutsBodiesUntilTheyFit(t *testing.T) {
	quotes := strings.Repeat(`"`, 1<<20)      // 2 bytes each as a JSON string
	controls := strings.Repeat("\x01", 1<<20) // 6 bytes each
	binary := base64.StdEncoding.EncodeToString(make([]byte, 1<<20))
	for name, body := range map[string]Response{
		"quotes":   {StatusCode: 200, Body: quotes},
		"controls": {StatusCode: 200, Body: controls},
		"binary":   {StatusCode: 200, Body: binary, BodyEncoding: "base64"},
	} {
		t.Run(name, func(t *testing.T) {
			main, cb := body, body
			res := &Result{Status: StatusSucceeded, Response: &main, CallbackResponse: &cb}
			require.Greater(t, encodedLen(res), PayloadBudget)
			require.True(t, FitBudget(res, PayloadBudget, res.Response, res.CallbackResponse))
			b, err := json.Marshal(res)
			require.NoError(t, err)
			require.LessOrEqual(t, len(b), PayloadBudget)
			require.Greater(t, len(b), PayloadBudget/2, "no more was cut than needed")
			cut := res.Response
			if !cut.Truncated {
				cut = res.CallbackResponse
			}
			require.True(t, cut.Truncated)
			require.Equal(t, CutByBudget, cut.TruncatedBy)
			if body.BodyEncoding == "base64" {
				_, err := base64.StdEncoding.DecodeString(cut.Body)
				require.NoError(t, err, "a cut base64 body still decodes")
			}
		})
	}
}

// A JSON body is kept as JSON, so it does not grow when embedded, and reads
// back into Body; a body that fits is left alone.
func TestResponse_JSONBodyIsEmbeddedAsJSON(t *testing.T) {
	r := Response{StatusCode: 200, Body: `{"q": "\"\"\"<b>"}`}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(b), `"bodyJson":{"q":"\"\"\"\u003cb\u003e"}`, "json.Marshal escapes HTML; the worker's converter does not")
	require.NotContains(t, string(b), `"body":`)
	var back Response
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, `{"q":"\"\"\"\u003cb\u003e"}`, back.Body, "the JSON, whitespace dropped")
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(Result{Response: &Response{Body: `{"q": "<b>"}`}, CallbackResponse: &Response{Body: "<i>"}}))
	require.Contains(t, buf.String(), `"bodyJson":{"q":"<b>"}`)
	require.Contains(t, buf.String(), `"body":"<i>"`)
	text := Response{StatusCode: 200, Body: "not json"}
	b, _ = json.Marshal(text)
	require.Contains(t, string(b), `"body":"not json"`)
	require.False(t, FitBudget(&text, PayloadBudget, &text))
}

func TestClipStatus(t *testing.T) {
	require.Equal(t, "SUCCESS", ClipStatus("SUCCESS"))
	long := ClipStatus(strings.Repeat("ü", MaxStatusBytes))
	require.LessOrEqual(t, len(long), MaxStatusBytes+len("…"))
	require.True(t, strings.HasSuffix(long, "…"))
}

// A response far under the budget is left alone without being encoded; one
// over it is cut like FitBudget cuts.
func TestFitResponse(t *testing.T) {
	small := Response{StatusCode: 200, Body: strings.Repeat(`"`, 100<<10), Headers: map[string]string{"A": "b"}}
	require.False(t, FitResponse(&small, ResponseBudget))
	require.Len(t, small.Body, 100<<10)
	large := Response{StatusCode: 200, Body: strings.Repeat(`"`, 1<<20)}
	require.True(t, FitResponse(&large, ResponseBudget))
	require.LessOrEqual(t, encodedLen(large), ResponseBudget)
	require.Equal(t, CutByBudget, large.TruncatedBy)
}

// stringRoom is the length of a string as the worker's converter writes
// it: escapes, bytes that are not UTF-8 and the JavaScript line separators
// included.
func TestStringRoom(t *testing.T) {
	random := make([]byte, 4096)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(random)
	for _, s := range []string{"", "plain", `"\`, "\b\f\n\r\t\x00\x1f\x7f", "<a & b>", "ü€😀", "\u2028\u2029", "\xff\xfe", "a\xe2\x82", string(random)} {
		b, err := jsonenc.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, len(b), stringRoom(s), "%q", s)
	}
}

// FitBudget on a result whose two 1 MiB JSON bodies of escapes do not fit
// together, against one encoding of that result (the baseline): workflow
// code calls it in a workflow task, which must yield within a second.
func BenchmarkFitBudget(b *testing.B) {
	body := `{"taskId": "t1", "pad": "` + strings.Repeat(`\"`, (1<<20-64)/2) + `"}`
	result := func() *Result {
		return &Result{Status: StatusSucceeded, Response: &Response{StatusCode: 200, Body: body}, CallbackResponse: &Response{StatusCode: 200, Body: body}}
	}
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = jsonenc.Marshal(result())
		}
	})
	b.Run("fit", func(b *testing.B) {
		for b.Loop() {
			res := result()
			FitBudget(res, PayloadBudget, res.Response, res.CallbackResponse)
		}
	})
}
