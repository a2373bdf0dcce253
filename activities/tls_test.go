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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
	"github.com/httpnode/httpnode/internal/outbound"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(t *testing.T, dir, name string, content []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), content, 0o600))
}

// tlsDirActivities are activities whose worker offers the files of dir as
// its --tls-dir.
func tlsDirActivities(dir string) *Activities {
	return New(testSecrets(), outbound.Config{Policy: egress.Loopback(), TLSDir: dir})
}

func tlsServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSendRequest_TLSFilesUnderTheTLSDir(t *testing.T) {
	srv := tlsServer(t)
	dir := t.TempDir()
	writeFile(t, dir, "partner/ca.pem", pemOf("CERTIFICATE", srv.Certificate().Raw))
	writeFile(t, dir, "junk.pem", []byte("junk"))
	outside := filepath.Join(t.TempDir(), "outside.pem")
	require.NoError(t, os.WriteFile(outside, pemOf("CERTIFICATE", srv.Certificate().Raw), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.pem")))
	cases := []struct {
		name    string
		tls     *httpnode.TLS
		dir     string
		errType string
		msg     string
	}{
		{"untrusted certificate fails", nil, dir, httpnode.ErrTLS, "certificate verification failed"},
		{"CA file under the TLS dir passes", &httpnode.TLS{CAFile: "partner/ca.pem"}, dir, "", ""},
		{"insecureSkipVerify passes", &httpnode.TLS{InsecureSkipVerify: true}, dir, "", ""},
		{"missing CA file", &httpnode.TLS{CAFile: "missing.pem"}, dir, httpnode.ErrInvalidRequest, `request.tls.caFile: cannot read "missing.pem" in the worker's TLS directory`},
		{"CA file without PEM", &httpnode.TLS{CAFile: "junk.pem"}, dir, httpnode.ErrInvalidRequest, "request.tls.caFile: holds no PEM certificate"},
		{"a link out of the TLS dir is not followed", &httpnode.TLS{CAFile: "link.pem"}, dir, httpnode.ErrInvalidRequest, `cannot read "link.pem"`},
		{"an absolute path is refused unread", &httpnode.TLS{CAFile: outside}, dir, httpnode.ErrInvalidRequest, "must name a file in the worker's TLS directory"},
		{"no TLS dir: no files", &httpnode.TLS{CAFile: "partner/ca.pem"}, "", httpnode.ErrInvalidRequest, "this worker offers no TLS files"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request("GET", srv.URL)
			r.TLS = tc.tls
			out, err := tlsDirActivities(tc.dir).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
			if tc.errType == "" {
				require.NoError(t, err)
				require.Equal(t, 200, out.Response.StatusCode)
				return
			}
			app := requireAppError(t, err, tc.errType, false)
			require.Contains(t, app.Message(), tc.msg)
			require.NotContains(t, app.Message(), outside, "no path outside the TLS dir is named back")
		})
	}
}

// clientCA is a private CA's certificate and key, and a client certificate
// it issued (with its key), as PEM.
type clientCA struct {
	caPEM, certPEM, keyPEM []byte
	pool                   *x509.CertPool
}

func newClientCA(t *testing.T) clientCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "private CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return clientCA{caPEM: pemOf("CERTIFICATE", caDER), certPEM: pemOf("CERTIFICATE", der), keyPEM: pemOf("EC PRIVATE KEY", keyDER), pool: pool}
}

// mTLSServer requires a client certificate of the CA and answers with its
// common name.
func mTLSServer(t *testing.T, ca clientCA) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// A server that requires a client certificate accepts the node's certFile
// and keyFile from the TLS dir.
func TestSendRequest_ClientCertificateFromFiles(t *testing.T) {
	ca := newClientCA(t)
	srv := mTLSServer(t, ca)
	dir := t.TempDir()
	writeFile(t, dir, "ca.pem", pemOf("CERTIFICATE", srv.Certificate().Raw))
	writeFile(t, dir, "client.pem", ca.certPEM)
	writeFile(t, dir, "client-key.pem", ca.keyPEM)

	r := request("GET", srv.URL)
	r.TLS = &httpnode.TLS{CAFile: "ca.pem"}
	_, err := tlsDirActivities(dir).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.Error(t, err, "without a client certificate the handshake fails")

	r.TLS = &httpnode.TLS{CAFile: "ca.pem", CertFile: "client.pem", KeyFile: "client-key.pem"}
	out, err := tlsDirActivities(dir).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Equal(t, "node", out.Response.Body)
}

// A private CA and a client certificate taken from secrets (PEM in the
// secret) pass where they are bound; bound elsewhere, nothing is sent.
func TestSendRequest_TLSFromSecrets(t *testing.T) {
	ca := newClientCA(t)
	var hits int
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool}
	srv.StartTLS()
	defer srv.Close()
	env := map[string]string{
		"HTTPNODE_SECRET_SERVER_CA":   string(pemOf("CERTIFICATE", srv.Certificate().Raw)),
		"HTTPNODE_SECRET_CLIENT_CERT": string(ca.certPEM),
		"HTTPNODE_SECRET_CLIENT_KEY":  string(ca.keyPEM),
		"HTTPNODE_SECRET_NOT_PEM":     "certainly not PEM",
	}
	for _, name := range []string{"SERVER_CA", "CLIENT_CERT", "CLIENT_KEY", "NOT_PEM"} {
		env["HTTPNODE_SECRET_"+name+"_HOSTS"] = "https://127.0.0.1:*"
	}
	a := New(envSecrets(env), outbound.Config{Policy: egress.Loopback()})
	r := request("GET", srv.URL)
	r.TLS = &httpnode.TLS{CA: "${secret.SERVER_CA}", Cert: "${secret.CLIENT_CERT}", Key: "${secret.CLIENT_KEY}"}
	out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Equal(t, "node", out.Response.Body)
	require.Equal(t, 1, hits)

	r.TLS = &httpnode.TLS{CA: "${secret.NOT_PEM}"}
	_, err = a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrInvalidRequest, false)
	require.Contains(t, app.Message(), "request.tls.ca: holds no PEM certificate")

	// the same node to localhost: the secrets are bound to 127.0.0.1 only
	r = request("GET", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	r.TLS = &httpnode.TLS{CA: "${secret.SERVER_CA}", Cert: "${secret.CLIENT_CERT}", Key: "${secret.CLIENT_KEY}"}
	_, err = a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app = requireAppError(t, err, httpnode.ErrSecretNotBound, false)
	require.Contains(t, app.Message(), "request.tls.cert: secret CLIENT_CERT is not bound to https://localhost:")
	require.Contains(t, app.Message(), "request.tls.key: secret CLIENT_KEY is not bound")
	require.NotContains(t, app.Message(), "PRIVATE KEY")
	require.Equal(t, 1, hits, "nothing was sent")
}

// A redirect cannot take a client certificate from a secret to a host its
// binding does not cover: the certificate cannot be dropped from the
// connection, so the hop is refused.
func TestSendRequest_RedirectRefusedWithBoundClientCertificate(t *testing.T) {
	ca := newClientCA(t)
	srv := mTLSServer(t, ca)
	other := 0
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { other++ }))
	defer elsewhere.Close()
	redirector := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)+"/x", http.StatusFound)
	}))
	redirector.TLS = srv.TLS
	redirector.StartTLS()
	defer redirector.Close()
	env := map[string]string{
		"HTTPNODE_SECRET_CLIENT_CERT": string(ca.certPEM), "HTTPNODE_SECRET_CLIENT_CERT_HOSTS": "https://127.0.0.1:*",
		"HTTPNODE_SECRET_CLIENT_KEY": string(ca.keyPEM), "HTTPNODE_SECRET_CLIENT_KEY_HOSTS": "https://127.0.0.1:*",
	}
	a := New(envSecrets(env), outbound.Config{Policy: egress.Loopback()})
	r := request("GET", redirector.URL)
	r.FollowRedirects = true
	r.TLS = &httpnode.TLS{InsecureSkipVerify: true, Cert: "${secret.CLIENT_CERT}", Key: "${secret.CLIENT_KEY}"}
	_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrSecretNotBound, false)
	require.Contains(t, app.Message(), "leaves the hosts the client certificate's secret is bound to")
	require.Zero(t, other)
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
	out, err := New(testSecrets(), outbound.Config{Policy: p}).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Equal(t, "http://job-service.invalid/jobs", proxied)
	require.JSONEq(t, `{"via": "proxy"}`, out.Response.Body)
}

// A node's own proxy could read a plain-http request, or one whose
// certificate is not checked: secrets are not sent through it so.
func TestSendRequest_NodeProxyGetsNoSecrets(t *testing.T) {
	var proxied int
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied++ }))
	defer proxy.Close()
	env := map[string]string{"HTTPNODE_SECRET_TOKEN": "tok-123456", "HTTPNODE_SECRET_TOKEN_HOSTS": "http://job-service.invalid,https://job-service.invalid"}
	p := egress.Loopback()
	p.AllowHosts = []string{"job-service.invalid"}
	a := New(envSecrets(env), outbound.Config{Policy: p})
	for _, url := range []string{"http://job-service.invalid/jobs", "https://job-service.invalid/jobs"} {
		r := request("GET", url)
		r.Proxy = proxy.URL
		r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.TOKEN}"}
		r.TLS = &httpnode.TLS{InsecureSkipVerify: true}
		_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
		app := requireAppError(t, err, httpnode.ErrSecretNotBound, false)
		require.Contains(t, app.Message(), "request.proxy: the node's proxy could read the secrets of this request")
	}
	require.Zero(t, proxied)
}

func TestClientFactory_ReusesTransports(t *testing.T) {
	f := NewClientFactory(outbound.Config{})
	c1, err := f.Client(httpnode.Request{}, tlsMaterial{}, carried{})
	require.NoError(t, err)
	c2, err := f.Client(httpnode.Request{TLS: &httpnode.TLS{}, FollowRedirects: true}, tlsMaterial{}, carried{})
	require.NoError(t, err)
	require.Same(t, c1.Transport, c2.Transport, "no TLS options and empty TLS options share a transport, whatever the redirect rule")
	c3, err := f.Client(httpnode.Request{TLS: &httpnode.TLS{InsecureSkipVerify: true}}, tlsMaterial{}, carried{})
	require.NoError(t, err)
	require.NotSame(t, c1.Transport, c3.Transport)
}
