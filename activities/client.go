package activities

import (
	"context"
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
)

// ClientConfig is what every outbound call obeys, whichever node makes it.
type ClientConfig struct {
	// Policy decides which destinations may be reached. nil is the zero
	// egress.Policy: internal and special addresses are denied.
	Policy *egress.Policy
	// ResponseHeaderTimeout bounds the wait for a response's headers,
	// whatever a node's timeout (default 2m): a slow remote cannot hold a
	// worker slot longer.
	ResponseHeaderTimeout time.Duration
	// ProxyEnv is the proxy environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY);
	// nil reads the process environment once.
	ProxyEnv *httpproxy.Config
}

// DefaultResponseHeaderTimeout is the ResponseHeaderTimeout when unset.
const DefaultResponseHeaderTimeout = 2 * time.Minute

// ClientFactory is the one place outbound HTTP clients are made: main
// requests, polls, notifications and test mode. Every connection is dialed
// through the egress policy (checked on the address actually dialed), and
// transports are kept per distinct TLS and proxy setting so connections are
// reused across requests, polls and nodes.
type ClientFactory struct {
	cfg        ClientConfig
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
	tls   httpnode.TLS
	proxy string
}

// NewClientFactory returns a factory with no transports yet.
func NewClientFactory(cfg ClientConfig) *ClientFactory {
	if cfg.ResponseHeaderTimeout <= 0 {
		cfg.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
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

// Client returns a client for r: its TLS and proxy options, and its redirect
// rule (not followed unless r.FollowRedirects; then bounded, every hop checked
// against the policy, credentials dropped when the host changes). Errors
// name the field at fault (a CA file that cannot be read, say).
func (f *ClientFactory) Client(r httpnode.Request) (*http.Client, error) {
	key := transportKey{proxy: r.Proxy}
	if r.TLS != nil {
		key.tls = *r.TLS
	}
	f.mu.Lock()
	tr, ok := f.transports[key]
	if !ok {
		t, err := f.newTransport(key)
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
	return &http.Client{Transport: tr.t, CheckRedirect: f.redirectRule(r)}, nil
}

func (f *ClientFactory) newTransport(key transportKey) (*http.Transport, error) {
	tlsConf, err := tlsConfig(key.tls)
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

func tlsConfig(t httpnode.TLS) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.caFile: cannot read %q on the worker: %v", t.CAFile, unwrapPathError(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.caFile: %q holds no PEM certificate", t.CAFile)
		}
		conf.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.certFile/keyFile: cannot load the client certificate: %v", unwrapPathError(err))
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
