package activities

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/secrets"
)

// redirectError stops a redirect chain that loops or runs too long.
type redirectError struct {
	loop, cert bool
	hops       int
}

func (e *redirectError) Error() string {
	if e.cert {
		return fmt.Sprintf("redirect %d leaves the hosts the client certificate's secret is bound to, so it is not followed (the certificate would go along)", e.hops)
	}
	if e.loop {
		return fmt.Sprintf("redirect loop after %d redirect(s) (the remote sends the request back to a URL it already visited)", e.hops)
	}
	return fmt.Sprintf("stopped after %d redirects (raise maxRedirects, up to %d, if the remote needs more)", e.hops, httpnode.MaxRedirectsLimit)
}

// noRedirects is the CheckRedirect of requests without followRedirects:
// the 3xx is the response.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// redirectRule is the CheckRedirect of a request with followRedirects: each
// hop must pass the egress policy (the dial is checked too), a loop or more
// than r.MaxRedirects hops stops the chain, credentials are dropped as soon
// as the request leaves the origin it was sent to, and so is every header
// holding a secret whose binding does not cover the hop (or, through the
// node's own proxy, a hop that is not https). A client certificate from a
// secret cannot be dropped: a hop outside its binding is refused.
func (f *ClientFactory) redirectRule(r httpnode.Request, c carried) func(*http.Request, []*http.Request) error {
	limit := r.MaxRedirects
	if limit == 0 {
		limit = httpnode.DefaultMaxRedirects
	}
	credentials := httpnode.SensitiveHeaders
	if a := r.Auth; a != nil && a.Type == "apiKey" && a.In != "query" {
		credentials = append(slices.Clip(credentials), http.CanonicalHeaderKey(orDefault(a.Name, "X-API-Key")))
	}
	return func(req *http.Request, via []*http.Request) error {
		for _, v := range via {
			if v.URL.String() == req.URL.String() {
				return &redirectError{loop: true, hops: len(via)}
			}
		}
		if len(via) > limit {
			return &redirectError{hops: len(via) - 1}
		}
		if err := f.cfg.Policy.CheckURL(req.URL); err != nil {
			return err
		}
		if c.cert != nil && !allAllow(c.cert, req.URL) {
			return &redirectError{cert: true, hops: len(via)}
		}
		if origin := via[0].URL; req.URL.Scheme != origin.Scheme || hostPort(req.URL) != hostPort(origin) {
			for _, h := range credentials {
				req.Header.Del(h)
			}
		}
		for h, bindings := range c.headers {
			if (r.Proxy != "" && req.URL.Scheme != "https") || !allAllow(bindings, req.URL) {
				req.Header.Del(h)
			}
		}
		return nil
	}
}

func allAllow(bindings []secrets.Binding, u *url.URL) bool {
	for _, b := range bindings {
		if !b.Allows(u) {
			return false
		}
	}
	return true
}
