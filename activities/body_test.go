package activities

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

func compress(t *testing.T, enc string, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	}
	_, err := io.WriteString(w, s)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// Bodies the remote compressed are stored decoded, whoever asked for the
// compression, so lookups work; what does not decode is kept as it came.
func TestSendRequest_CompressedBodiesAreDecoded(t *testing.T) {
	const doc = `{"taskId": "t-42", "status": "SUCCESS"}`
	cases := []struct {
		name, enc string
		body      []byte
		want      string
	}{
		{"gzip the node asked for", "gzip", compress(t, "gzip", doc), doc},
		{"deflate (zlib)", "deflate", compress(t, "deflate", doc), doc},
		{"deflate (raw)", "deflate", compress(t, "raw-deflate", doc), doc},
		{"a lie is kept as sent", "gzip", []byte("not gzip at all"), "not gzip at all"},
		{"unknown encodings are kept", "br", []byte("brotli?"), "brotli?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", tc.enc)
				_, _ = w.Write(tc.body)
			}))
			defer srv.Close()
			r := request("GET", srv.URL)
			r.Headers = map[string]string{"Accept-Encoding": "gzip, deflate"}
			out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
			require.NoError(t, err)
			require.Equal(t, tc.want, out.Response.Body)
			require.False(t, out.Response.Truncated)
		})
	}
	// a small body cannot expand past the cap
	bomb := compress(t, "gzip", string(bytes.Repeat([]byte("a"), 4<<20)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(bomb)
	}))
	defer srv.Close()
	r := request("GET", srv.URL)
	r.Headers = map[string]string{"Accept-Encoding": "gzip"}
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Len(t, out.Response.Body, int(httpnode.DefaultMaxResponseBytes))
	require.Equal(t, httpnode.CutByLimit, out.Response.TruncatedBy)
}

// A header sent several times keeps its values apart.
func TestSendRequest_MultiValueHeadersKeepTheirBoundaries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b, c")
		w.Header().Add("Set-Cookie", "s=1")
		w.Header().Add("Set-Cookie", "t=2")
		w.Header().Set("X-Single", "one")
	}))
	defer srv.Close()
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", srv.URL))})
	require.NoError(t, err)
	require.Equal(t, "a, b, c", out.Response.Headers["X-Multi"])
	require.Equal(t, []string{"a", "b, c"}, out.Response.HeaderLists["X-Multi"])
	require.Equal(t, []string{"***", "***"}, out.Response.HeaderLists["Set-Cookie"], "masked value by value")
	require.Equal(t, "one", out.Response.Headers["X-Single"])
	require.NotContains(t, out.Response.HeaderLists, "X-Single")
}

// A body that starts in time but is still arriving when the try's timeout
// passes keeps the status and headers, and says it was cut by the timeout.
func TestSendRequest_BodyCutByTheTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Job", "j1")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"taskId": "t1", "rows": [`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	r := request("GET", srv.URL)
	r.Timeout = httpnode.Duration(300 * time.Millisecond)
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Equal(t, 200, out.Response.StatusCode)
	require.Equal(t, "j1", out.Response.Headers["X-Job"])
	require.Equal(t, `{"taskId": "t1", "rows": [`, out.Response.Body)
	require.True(t, out.Response.Truncated)
	require.Equal(t, httpnode.CutByTimeout, out.Response.TruncatedBy)
	require.Equal(t, " (the body was cut by request.timeout while it arrived; raise it)", out.Response.CutHint("request"))
}
