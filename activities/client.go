package activities

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
	"github.com/httpnode/httpnode/internal/outbound"
)

// ClientFactory is the one place outbound HTTP clients are made: main
// requests, polls, notifications and test mode. Every connection is dialed
// through the egress policy (checked on the address actually dialed), and
// transports are kept per distinct TLS and proxy setting so connections are
// reused across requests, polls and nodes.
type ClientFactory struct {
	cfg        outbound.Config
	envProxy   func(*url.URL) (*url.URL, error)
	trusted    map[string]bool // host:port of the environment's proxies
	envProxies bool            // the environment names a proxy
	mu         sync.Mutex
	transports map[transportKey]*transport
}

// transport is a transport and the client that follows no redirects (most
// requests use it; the others get a client of their own).
type transport struct {
	t          *http.Transport
	noRedirect *http.Client
}

type transportKey struct {
	tls      httpnode.TLS
	material [32]byte // of the PEM from secrets: a rotated secret gets a new transport
	proxy    string
}

// NewClientFactory returns a factory with no transports yet.
func NewClientFactory(cfg outbound.Config) *ClientFactory {
	if cfg.ResponseHeaderTimeout <= 0 {
		cfg.ResponseHeaderTimeout = outbound.DefaultResponseHeaderTimeout
	}
	env := cfg.ProxyEnv
	if env == nil {
		env = httpproxy.FromEnvironment()
	}
	f := &ClientFactory{cfg: cfg, envProxy: env.ProxyFunc(), trusted: map[string]bool{}, transports: map[transportKey]*transport{},
		envProxies: env.HTTPProxy != "" || env.HTTPSProxy != ""}
	// The operator's proxies are dialed as configured; a node's own proxy
	// must pass the policy like any destination.
	for _, p := range []string{env.HTTPProxy, env.HTTPSProxy} {
		if u, err := url.Parse(p); err == nil && u.Host != "" {
			f.trusted[hostPort(u)] = true
		} else if u, err := url.Parse("http://" + p); p != "" && err == nil {
			f.trusted[hostPort(u)] = true
		}
	}
	return f
}

// Policy returns the egress policy in force.
func (f *ClientFactory) Policy() *egress.Policy { return f.cfg.Policy }

// Client returns a client for r: its TLS (with the PEM material m took
// from secrets) and proxy options, and its redirect rule (not followed
// unless r.FollowRedirects; then bounded, every hop checked against the
// policy, credentials and the secrets in c dropped when a hop leaves where
// they may go). Errors name the field at fault (a CA file that cannot be
// read, say).
func (f *ClientFactory) Client(r httpnode.Request, m tlsMaterial, c carried) (*http.Client, error) {
	key := transportKey{proxy: r.Proxy, material: m.sum()}
	if r.TLS != nil {
		key.tls = *r.TLS
	}
	f.mu.Lock()
	tr, ok := f.transports[key]
	if !ok {
		t, err := f.newTransport(key, m)
		if err != nil {
			f.mu.Unlock()
			return nil, err
		}
		tr = &transport{t: t, noRedirect: &http.Client{Transport: t, CheckRedirect: noRedirects}}
		f.transports[key] = tr
	}
	f.mu.Unlock()
	if !r.FollowRedirects {
		return tr.noRedirect, nil
	}
	return &http.Client{Transport: tr.t, CheckRedirect: f.redirectRule(r, c)}, nil
}

func (f *ClientFactory) newTransport(key transportKey, m tlsMaterial) (*http.Transport, error) {
	tlsConf, err := f.tlsConfig(key.tls, m)
	if err != nil {
		return nil, err
	}
	var proxy func(*url.URL) (*url.URL, error)
	switch {
	case key.proxy != "":
		u, err := url.Parse(key.proxy)
		if err != nil {
			return nil, fmt.Errorf("proxy: %v", err)
		}
		proxy = func(*url.URL) (*url.URL, error) { return u, nil }
	case f.envProxies:
		proxy = f.envProxy
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	checked := f.cfg.Policy.DialContext(dialer)
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if f.trusted[addr] {
				return dialer.DialContext(ctx, network, addr)
			}
			return checked(ctx, network, addr)
		},
		TLSClientConfig:        tlsConf,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  f.cfg.ResponseHeaderTimeout,
		MaxResponseHeaderBytes: httpnode.MaxResponseHeaderBytes,
	}
	if proxy != nil {
		t.Proxy = func(req *http.Request) (*url.URL, error) {
			p, err := proxy(req.URL)
			if err != nil || p == nil {
				return p, err
			}
			// the proxy reaches the target, not the worker: check it here
			return p, f.checkProxied(req.Context(), req.URL)
		}
	}
	return t, nil
}

// checkProxied checks a target the proxy will dial: its scheme, port and
// literal address, then, unless the operator allowed the host name, every
// address it resolves to here.
func (f *ClientFactory) checkProxied(ctx context.Context, u *url.URL) error {
	p := f.cfg.Policy
	if err := p.CheckURL(u); err != nil {
		return err
	}
	if p.AllowsHost(u.Hostname()) {
		return nil
	}
	err := p.CheckHost(ctx, u.Hostname(), port(u))
	if err != nil && !errors.As(err, new(*egress.DeniedError)) {
		return &uncheckedError{host: u.Hostname(), err: err}
	}
	return err
}

// uncheckedError is a proxied destination that could not be checked: its
// name does not resolve on the worker.
type uncheckedError struct {
	host string
	err  error
}

func (e *uncheckedError) Error() string {
	return fmt.Sprintf("destination denied: %v; a proxy would resolve %q itself, so it cannot be checked against the egress policy (to trust that host name, start the worker with --egress-allow %s)", e.err, e.host, e.host)
}

// port is u's port, the scheme's default when absent.
func port(u *url.URL) int {
	if n, err := strconv.Atoi(u.Port()); err == nil {
		return n
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// hostPort is u's host:port as a transport dials it.
func hostPort(u *url.URL) string {
	return net.JoinHostPort(u.Hostname(), strconv.Itoa(port(u)))
}

// tlsMaterial is the PEM a request's TLS takes from secrets (tls.ca,
// tls.cert, tls.key), filled in at send time.
type tlsMaterial struct{ ca, cert, key string }

func (m tlsMaterial) sum() [32]byte {
	if m == (tlsMaterial{}) {
		return [32]byte{}
	}
	return sha256.Sum256([]byte(m.ca + "\x00" + m.cert + "\x00" + m.key))
}

// tlsConfig is the TLS configuration of t: its PEM from m or from files
// under the worker's TLS directory, which are read only there (os.Root: no
// path, link or .. leads out of it).
func (f *ClientFactory) tlsConfig(t httpnode.TLS, m tlsMaterial) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify, ServerName: t.ServerName}
	ca, cert, key := []byte(m.ca), []byte(m.cert), []byte(m.key)
	caField, certField := "tls.ca", "tls.cert/key"
	if t.CAFile != "" {
		b, err := f.tlsFile("tls.caFile", t.CAFile)
		if err != nil {
			return nil, err
		}
		ca, caField = b, "tls.caFile"
	}
	if t.CertFile != "" {
		var err error
		if cert, err = f.tlsFile("tls.certFile", t.CertFile); err != nil {
			return nil, err
		}
		if key, err = f.tlsFile("tls.keyFile", t.KeyFile); err != nil {
			return nil, err
		}
		certField = "tls.certFile/keyFile"
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("%s: holds no PEM certificate", caField)
		}
		conf.RootCAs = pool
	}
	if len(cert) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			// the error names no key material, but may quote a PEM type
			return nil, fmt.Errorf("%s: cannot load the client certificate: %v", certField, err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf, nil
}

// tlsFile reads name from the worker's TLS directory.
func (f *ClientFactory) tlsFile(field, name string) ([]byte, error) {
	if f.cfg.TLSDir == "" {
		return nil, fmt.Errorf("%s: this worker offers no TLS files (its operator sets --tls-dir; or put the PEM in a secret and use ca, cert and key)", field)
	}
	if !httpnode.LocalTLSFile(name) {
		return nil, fmt.Errorf("%s: must name a file in the worker's TLS directory, relative to it", field)
	}
	root, err := os.OpenRoot(f.cfg.TLSDir)
	if err != nil {
		return nil, fmt.Errorf("%s: the worker's TLS directory cannot be opened: %v", field, unwrapPathError(err))
	}
	defer root.Close()
	b, err := root.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read %q in the worker's TLS directory: %v", field, name, unwrapPathError(err))
	}
	return b, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
