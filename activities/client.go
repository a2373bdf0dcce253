package activities

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/httpnode/httpnode/httpnode"
)

// ClientFactory is the one place outbound HTTP clients are made. It keeps one
// client per distinct TLS and proxy setting, so connections are reused across
// requests, polls and nodes.
type ClientFactory struct {
	mu      sync.Mutex
	clients map[clientKey]*http.Client
}

type clientKey struct {
	tls   httpnode.TLS
	proxy string
}

// NewClientFactory returns an empty factory.
func NewClientFactory() *ClientFactory {
	return &ClientFactory{clients: map[clientKey]*http.Client{}}
}

// Client returns the client for the given TLS options and proxy URL. Errors
// name the field at fault (a CA file that cannot be read, say).
func (f *ClientFactory) Client(t *httpnode.TLS, proxy string) (*http.Client, error) {
	key := clientKey{proxy: proxy}
	if t != nil {
		key.tls = *t
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[key]; ok {
		return c, nil
	}
	c, err := newClient(key)
	if err != nil {
		return nil, err
	}
	f.clients[key] = c
	return c, nil
}

func newClient(key clientKey) (*http.Client, error) {
	tlsConf, err := tlsConfig(key.tls)
	if err != nil {
		return nil, err
	}
	proxy := http.ProxyFromEnvironment
	if key.proxy != "" {
		u, err := url.Parse(key.proxy)
		if err != nil {
			return nil, fmt.Errorf("proxy: %v", err)
		}
		proxy = http.ProxyURL(u)
	}
	transport := &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		// Redirects are not followed: a 3xx is the response, checked against
		// successStatus, so credentials never travel to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
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
