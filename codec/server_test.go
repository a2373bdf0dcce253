package codec

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const (
	testToken     = "tok-3c9f0a7e5d1b-Codec_Test"
	allowedOrigin = "http://localhost:8233"
)

// startServer returns the URL of a codec server for c with testToken and allowedOrigin.
func startServer(t *testing.T, c *Codec) string {
	t.Helper()
	h, err := NewServer(c, ServerOptions{Token: testToken, Origins: []string{allowedOrigin, "http://127.0.0.1:8233/"}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// post sends body to url with the given headers and returns the status, headers and body of the answer.
func post(t *testing.T, method, url string, body io.Reader, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// call runs one codec operation over HTTP, requiring a 200, and returns the payloads answered.
func call(t *testing.T, url string, headers map[string]string, in []*commonpb.Payload) []*commonpb.Payload {
	t.Helper()
	body, err := json.Marshal(&commonpb.Payloads{Payloads: in})
	require.NoError(t, err)
	status, _, answer := post(t, http.MethodPost, url, bytes.NewReader(body), headers)
	require.Equal(t, http.StatusOK, status, answer)
	var out commonpb.Payloads
	require.NoError(t, json.Unmarshal([]byte(answer), &out))
	require.Len(t, out.Payloads, len(in))
	return out.Payloads
}

func TestServer_EncodeDecodeRoundTrip(t *testing.T) {
	c := testCodec(t, testKey(t, "k1"))
	base := startServer(t, c)
	plain, err := converter.GetDefaultDataConverter().ToPayload(node{Body: secretBody})
	require.NoError(t, err)
	bearer := map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"}

	tests := []struct {
		name           string
		encode, decode string
		headers        map[string]string
	}{
		{name: "bearer token", encode: base + "/encode", decode: base + "/decode", headers: bearer},
		{name: "token in the path, as Temporal Web calls it", encode: base + "/" + testToken + "/encode",
			decode: base + "/" + testToken + "/decode?preserveStorageRefs=true", headers: map[string]string{"X-Namespace": "default"}},
		{name: "token in the path, other bearer (a UI login)", encode: base + "/" + testToken + "/encode",
			decode: base + "/" + testToken + "/decode", headers: map[string]string{"Authorization": "Bearer oidc-login-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encrypted := call(t, tt.encode, tt.headers, []*commonpb.Payload{plain})
			requireEncrypted(t, encrypted[0], "k1", secretBody)

			decoded := call(t, tt.decode, tt.headers, encrypted)
			require.True(t, plain.Equal(decoded[0]), "got %v, want %v", decoded[0], plain)

			local, err := c.Decode(encrypted)
			require.NoError(t, err)
			require.True(t, plain.Equal(local[0]), "the server's encryption does not decode locally")
		})
	}
}

func TestServer_RejectsRequestsWithoutTheToken(t *testing.T) {
	base := startServer(t, testCodec(t, testKey(t, "k1")))
	tests := []struct {
		name    string
		path    string
		headers map[string]string
	}{
		{name: "no token", path: "/decode"},
		{name: "wrong bearer", path: "/decode", headers: map[string]string{"Authorization": "Bearer " + testToken + "x"}},
		{name: "token under another scheme", path: "/decode", headers: map[string]string{"Authorization": "Basic " + testToken}},
		{name: "wrong path token", path: "/" + testToken[1:] + "/decode"},
		{name: "wrong path token from an allowed origin", path: "/nope/encode", headers: map[string]string{"Origin": allowedOrigin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := post(t, http.MethodPost, base+tt.path, strings.NewReader(`{"payloads":[]}`), tt.headers)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Contains(t, body, `"Authorization: Bearer <token>"`)
			require.Contains(t, body, "--codec-auth")
			require.NotContains(t, body, testToken[1:])
			require.Equal(t, tt.headers["Origin"], h.Get("Access-Control-Allow-Origin"))
		})
	}
}

func TestServer_CORS(t *testing.T) {
	base := startServer(t, testCodec(t, testKey(t, "k1")))
	preflight := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "content-type,x-namespace,authorization"}
	}

	t.Run("preflight from an allowed origin needs no token", func(t *testing.T) {
		for _, path := range []string{"/decode", "/" + testToken + "/decode"} {
			status, h, _ := post(t, http.MethodOptions, base+path, nil, preflight(allowedOrigin))
			require.Equal(t, http.StatusNoContent, status, path)
			require.Equal(t, allowedOrigin, h.Get("Access-Control-Allow-Origin"))
			require.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
			require.Equal(t, "POST", h.Get("Access-Control-Allow-Methods"))
			require.Equal(t, corsAllowHeaders, h.Get("Access-Control-Allow-Headers"))
			require.Equal(t, "Origin", h.Get("Vary"))
		}
	})
	t.Run("configured origin with a trailing slash matches", func(t *testing.T) {
		status, h, _ := post(t, http.MethodOptions, base+"/decode", nil, preflight("http://127.0.0.1:8233"))
		require.Equal(t, http.StatusNoContent, status)
		require.Equal(t, "http://127.0.0.1:8233", h.Get("Access-Control-Allow-Origin"))
	})
	t.Run("preflight from another origin gets no CORS headers", func(t *testing.T) {
		status, h, _ := post(t, http.MethodOptions, base+"/decode", nil, preflight("http://evil.example"))
		require.Equal(t, http.StatusForbidden, status)
		require.Empty(t, h.Get("Access-Control-Allow-Origin"))
		require.Empty(t, h.Get("Access-Control-Allow-Headers"))
	})
	t.Run("POST from an allowed origin carries Allow-Origin", func(t *testing.T) {
		status, h, body := post(t, http.MethodPost, base+"/"+testToken+"/decode", strings.NewReader(`{"payloads":[]}`),
			map[string]string{"Origin": allowedOrigin, "Content-Type": "application/json", "X-Namespace": "default"})
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, allowedOrigin, h.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
	})
	t.Run("POST from another origin is refused even with the token", func(t *testing.T) {
		status, h, _ := post(t, http.MethodPost, base+"/decode", strings.NewReader(`{"payloads":[]}`),
			map[string]string{"Origin": "http://evil.example", "Authorization": "Bearer " + testToken})
		require.Equal(t, http.StatusForbidden, status)
		require.Empty(t, h.Get("Access-Control-Allow-Origin"))
	})
}

func TestServer_LimitsBodies(t *testing.T) {
	h, err := NewServer(testCodec(t, testKey(t, "k1")), ServerOptions{Token: testToken})
	require.NoError(t, err)
	small, err := NewServer(testCodec(t, testKey(t, "k1")), ServerOptions{Token: testToken, MaxBodyBytes: 64})
	require.NoError(t, err)
	tests := []struct {
		name          string
		handler       http.Handler
		size          int
		unknownLength bool   // sent chunked
		wantErr       string // empty: the body is read and answered 200
	}{
		{name: "default limit", handler: h, size: DefaultMaxBodyBytes + 1, wantErr: "request body is over 4194304 bytes"},
		{name: "default limit, chunked", handler: h, size: DefaultMaxBodyBytes + 1, unknownLength: true,
			wantErr: "request body is over 4194304 bytes"},
		{name: "configured limit", handler: small, size: 65, wantErr: "request body is over 64 bytes"},
		{name: "at the configured limit", handler: small, size: 64},
		{name: "at the configured limit, chunked", handler: small, size: 64, unknownLength: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"payloads":[]}` + strings.Repeat(" ", tt.size-len(`{"payloads":[]}`))
			req := httptest.NewRequest(http.MethodPost, "/encode", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			if tt.unknownLength {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, req)
			if tt.wantErr == "" {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				return
			}
			require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
			require.Contains(t, rec.Body.String(), tt.wantErr)
		})
	}
}

func TestServer_DecodeErrorNamesTheKey(t *testing.T) {
	encrypted, err := testCodec(t, testKey(t, "k1")).Encode([]*commonpb.Payload{{Data: []byte(secretBody)}})
	require.NoError(t, err)
	body, err := json.Marshal(&commonpb.Payloads{Payloads: encrypted})
	require.NoError(t, err)

	base := startServer(t, testCodec(t, testKey(t, "k2")))
	status, _, answer := post(t, http.MethodPost, base+"/"+testToken+"/decode", bytes.NewReader(body), nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, answer, `key "k1", which this worker does not have`)
}

func TestServer_HealthAndUnknownPaths(t *testing.T) {
	base := startServer(t, testCodec(t, testKey(t, "k1")))
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	tests := []struct {
		method, path string
		want         int
		wantBody     string
	}{
		{method: http.MethodGet, path: "/", want: http.StatusOK, wantBody: "codec server"},
		{method: http.MethodGet, path: "/healthz", want: http.StatusOK, wantBody: "codec server"},
		{method: http.MethodGet, path: "/decode", want: http.StatusNotFound},
		{method: http.MethodPost, path: "/other", want: http.StatusNotFound},
		{method: http.MethodPost, path: "/a/" + testToken + "/decode", want: http.StatusNotFound},
		{method: http.MethodPut, path: "/decode", want: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, _, body := post(t, tt.method, base+tt.path, strings.NewReader(`{"payloads":[]}`), auth)
			require.Equal(t, tt.want, status, body)
			require.Contains(t, body, tt.wantBody)
		})
	}
}

func TestNewServer_RejectsBadOptions(t *testing.T) {
	c := testCodec(t, testKey(t, "k1"))
	tests := []struct {
		name    string
		codec   *Codec
		opts    ServerOptions
		wantErr string
	}{
		{name: "nil codec", opts: ServerOptions{Token: testToken}, wantErr: "the codec is nil"},
		{name: "no token", codec: c, opts: ServerOptions{}, wantErr: "the token is empty"},
		{name: "token with a slash", codec: c, opts: ServerOptions{Token: "abc/def"}, wantErr: "cannot stand in a URL path"},
		{name: "any origin", codec: c, opts: ServerOptions{Token: testToken, Origins: []string{"*"}}, wantErr: `origin "*" is not allowed`},
		{name: "origin with a path", codec: c, opts: ServerOptions{Token: testToken, Origins: []string{"http://localhost:8233/namespaces"}},
			wantErr: `origin "http://localhost:8233/namespaces" is not scheme://host[:port]`},
		{name: "origin without a scheme", codec: c, opts: ServerOptions{Token: testToken, Origins: []string{"localhost:8233"}},
			wantErr: "is not scheme://host[:port]"},
		{name: "negative body limit", codec: c, opts: ServerOptions{Token: testToken, MaxBodyBytes: -1}, wantErr: "MaxBodyBytes is -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewServer(tt.codec, tt.opts)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, h)
			if tt.opts.Token != "" {
				require.NotContains(t, err.Error(), tt.opts.Token)
			}
		})
	}
}
