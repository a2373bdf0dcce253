package activities

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
)

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return p
}

func tlsServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, writePEM(t, t.TempDir(), "ca.pem", "CERTIFICATE", srv.Certificate().Raw)
}

func TestSendRequest_TLS(t *testing.T) {
	srv, caFile := tlsServer(t)
	cases := []struct {
		name    string
		tls     *httpnode.TLS
		errType string
		msg     string
	}{
		{"untrusted certificate fails", nil, httpnode.ErrTLS, "certificate verification failed"},
		{"custom CA passes", &httpnode.TLS{CAFile: caFile}, "", ""},
		{"insecureSkipVerify passes", &httpnode.TLS{InsecureSkipVerify: true}, "", ""},
		{"missing CA file", &httpnode.TLS{CAFile: "/nonexistent/ca.pem"}, httpnode.ErrInvalidRequest, `request.tls.caFile: cannot read "/nonexistent/ca.pem" on the worker`},
		{"CA file without PEM", &httpnode.TLS{CAFile: writeFile(t, "junk")}, httpnode.ErrInvalidRequest, "holds no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request("GET", srv.URL)
			r.TLS = tc.tls
			out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: r})
			if tc.errType == "" {
				require.NoError(t, err)
				require.Equal(t, 200, out.Response.StatusCode)
				return
			}
			app := requireAppError(t, err, tc.errType, false)
			require.Contains(t, app.Message(), tc.msg)
		})
	}
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// A server that requires a client certificate accepts the node's certFile/keyFile.
func TestSendRequest_ClientCertificate(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile := writePEM(t, dir, "client.pem", "CERTIFICATE", der)
	keyFile := writePEM(t, dir, "client-key.pem", "EC PRIVATE KEY", keyDER)
	clientCert, err := x509.ParseCertificate(der)
	require.NoError(t, err)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	pool := x509.NewCertPool()
	pool.AddCert(clientCert)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", srv.Certificate().Raw)

	r := request("GET", srv.URL)
	r.TLS = &httpnode.TLS{CAFile: caFile}
	_, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: r})
	require.Error(t, err, "without a client certificate the handshake fails")

	r.TLS = &httpnode.TLS{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: r})
	require.NoError(t, err)
	require.Equal(t, "node", out.Response.Body)
}

// The node's proxy setting routes the request through the proxy.
func TestSendRequest_Proxy(t *testing.T) {
	var proxied string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied = r.URL.String() // a forward proxy sees the absolute URL
		_, _ = w.Write([]byte(`{"via": "proxy"}`))
	}))
	defer proxy.Close()
	r := request("GET", "http://job-service.invalid/jobs")
	r.Proxy = proxy.URL
	p := egress.Loopback() // the proxy listens on loopback
	p.AllowHosts = []string{"job-service.invalid"}
	out, err := New(testSecrets, ClientConfig{Policy: p}).SendRequest(context.Background(), SendRequestInput{Request: r})
	require.NoError(t, err)
	require.Equal(t, "http://job-service.invalid/jobs", proxied)
	require.JSONEq(t, `{"via": "proxy"}`, out.Response.Body)
}

func TestClientFactory_ReusesTransports(t *testing.T) {
	f := NewClientFactory(ClientConfig{})
	c1, err := f.Client(httpnode.Request{})
	require.NoError(t, err)
	c2, err := f.Client(httpnode.Request{TLS: &httpnode.TLS{}, FollowRedirects: true})
	require.NoError(t, err)
	require.Same(t, c1.Transport, c2.Transport, "no TLS options and empty TLS options share a transport, whatever the redirect rule")
	c3, err := f.Client(httpnode.Request{TLS: &httpnode.TLS{InsecureSkipVerify: true}})
	require.NoError(t, err)
	require.NotSame(t, c1.Transport, c3.Transport)
}
