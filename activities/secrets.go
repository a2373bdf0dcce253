package activities

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/secrets"
)

// filler fills in what only the worker knows, at send time, for one request
// to dest: ${secret.NAME} (checked against the worker's keys and the
// secret's binding) and ${callbackUrl}. It records every value it puts in
// for masking, what the request then carries (for redirect hops), and
// every problem, reported together by err.
type filler struct {
	nodes       *secrets.Nodes
	dest        *url.URL
	step        string
	mask        *masker
	callbackURL string
	carried     carried
	tls         tlsMaterial
	problems    []problem
}

// carried is what a request carries of the node's secrets: each header
// holding one with the bindings of its secrets (a redirect hop outside them
// drops the header), and the binding of a client certificate from a secret
// (a hop outside it is refused: the certificate cannot be dropped).
type carried struct {
	headers map[string][]secrets.Binding // canonical header names
	cert    []secrets.Binding
	any     bool // some secret is in the request
}

// problem is one reason the request cannot be sent, and its error type.
type problem struct {
	errType, msg string
}

// secret returns the value of the secret name for field, or records why it
// cannot be used there.
func (f *filler) secret(field, name string) (string, secrets.Binding, bool) {
	v, b, err := f.nodes.Resolve(name, f.dest)
	if err != nil {
		f.problems = append(f.problems, problem{secretErrorType(err), f.path(field) + ": " + err.Error()})
		return "", nil, false
	}
	f.mask.add(v)
	f.carried.any = true
	return v, b, true
}

// secretRef is secret for a field that holds exactly one reference
// (auth.token, sign.secrets[i], tls.cert).
func (f *filler) secretRef(field, ref string) (string, secrets.Binding, bool) {
	name := strings.TrimSuffix(strings.TrimPrefix(ref, "${secret."), "}")
	return f.secret(field, name)
}

// refs fills in the references of a header or query value; bindings are
// those of the secrets in it.
func (f *filler) refs(field, s string) (out string, bindings []secrets.Binding) {
	out = httpnode.ReplaceRefs(s, func(ref string) string {
		if ref == "callbackUrl" {
			if f.callbackURL == "" {
				f.problems = append(f.problems, problem{httpnode.ErrNoCallbackReceiver, f.path(field) + ": ${callbackUrl} has no value: this worker serves no callback receiver (start it with --callback-addr and --callback-base-url)"})
			}
			return f.callbackURL
		}
		name, ok := strings.CutPrefix(ref, "secret.")
		if !ok {
			return "${" + ref + "}"
		}
		v, b, _ := f.secret(field, name)
		bindings = append(bindings, b)
		return v
	})
	return out, bindings
}

// fillTLS takes the request's PEM material from its secrets.
func (f *filler) fillTLS(t httpnode.TLS) {
	pem := func(field, ref string) (string, secrets.Binding) {
		if ref == "" {
			return "", nil
		}
		v, b, _ := f.secretRef(field, ref)
		return v, b
	}
	f.tls.ca, _ = pem("tls.ca", t.CA)
	if t.Cert != "" {
		cert, cb := pem("tls.cert", t.Cert)
		key, kb := pem("tls.key", t.Key)
		f.tls.cert, f.tls.key, f.carried.cert = cert, key, []secrets.Binding{cb, kb}
	}
}

// header sets the header k of h to v with its references filled in.
func (f *filler) header(h http.Header, k, field, v string) {
	out, bindings := f.refs(field, v)
	h.Set(k, out)
	f.carry(k, bindings...)
}

// carry records that the header k holds secrets of these bindings.
func (f *filler) carry(k string, bindings ...secrets.Binding) {
	if len(bindings) == 0 {
		return
	}
	if f.carried.headers == nil {
		f.carried.headers = map[string][]secrets.Binding{}
	}
	k = http.CanonicalHeaderKey(k)
	f.carried.headers[k] = append(f.carried.headers[k], bindings...)
}

// checkProxy refuses secrets on a request through the node's own proxy
// that the proxy could read: plain http, or https without certificate
// checks (the proxy could stand in for the server). The worker's proxies
// (HTTPS_PROXY) are the operator's and trusted.
func (f *filler) checkProxy(r httpnode.Request) {
	if r.Proxy == "" || !f.carried.any {
		return
	}
	if f.dest.Scheme != "https" || (r.TLS != nil && r.TLS.InsecureSkipVerify) {
		f.problems = append(f.problems, problem{httpnode.ErrSecretNotBound, f.path("proxy") + ": the node's proxy could read the secrets of this request (it is not https with certificate checks); send it over https without insecureSkipVerify, or without the node's proxy"})
	}
}

// err is the problems as one non-retryable error of the gravest type, or
// nil.
func (f *filler) err() error {
	if len(f.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(f.problems, func(a, b problem) int { return gravity(a.errType) - gravity(b.errType) })
	msgs := make([]string, len(f.problems))
	for i, p := range f.problems {
		msgs[i] = p.msg
	}
	slices.Sort(msgs) // the fields of a map were visited in random order
	return nonRetryable(f.problems[0].errType, "%s", strings.Join(slices.Compact(msgs), "; "))
}

// gravity orders error types: a node that may never run before one the
// operator can fix by setting a value.
func gravity(errType string) int {
	switch errType {
	case httpnode.ErrInvalidNode:
		return 0
	case httpnode.ErrSecretNotBound:
		return 1
	case httpnode.ErrInvalidSecret:
		return 2
	case httpnode.ErrSecretNotFound:
		return 3
	}
	return 4
}

// secretErrorType is the node's error type for a secret it may not use.
func secretErrorType(err error) string {
	var se *secrets.Error
	if !errors.As(err, &se) {
		return httpnode.ErrInvalidSecret
	}
	switch se.Reason {
	case secrets.BadName, secrets.WorkerKey:
		return httpnode.ErrInvalidNode
	case secrets.NotSet:
		return httpnode.ErrSecretNotFound
	case secrets.TooShort:
		return httpnode.ErrInvalidSecret
	}
	return httpnode.ErrSecretNotBound
}

// CheckSecrets checks every secret the node uses, each for the destination
// it would be sent to, before the main request is sent: a node that could
// not finish sends nothing. Problems are one error (see filler.err).
func (a *Activities) CheckSecrets(uses []httpnode.SecretUse) error {
	f := &filler{nodes: a.Secrets, mask: &masker{}}
	for _, u := range uses {
		f.dest = nil
		if u.URL != "" {
			if d, err := url.Parse(u.URL); err == nil {
				f.dest = d
			}
		}
		f.secret(u.Field, u.Name)
	}
	return f.err()
}

// masker replaces secret values with *** in anything that leaves the worker.
type masker struct{ values []string }

const mask = "***"

// formsPerValue is how many forms of a secret value are masked.
const formsPerValue = 5

// add records a secret value and the forms it travels in: URL-escaped and
// base64 (a remote may echo either back).
func (m *masker) add(v string) {
	if v == "" {
		return
	}
	if m.values == nil {
		m.values = make([]string, 0, 2*formsPerValue)
	}
	m.values = append(m.values, maskForms(v)...)
	// longest first, so a secret that contains another is masked whole
	slices.SortFunc(m.values, func(a, b string) int { return len(b) - len(a) })
}

// forms memoizes the encoded forms of each secret value: the values already
// live in this process (environment, files), and every request using a
// secret needs its forms.
var forms sync.Map // string -> []string

func maskForms(v string) []string {
	if f, ok := forms.Load(v); ok {
		return f.([]string)
	}
	b := []byte(v)
	f := []string{v, url.QueryEscape(v), base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b)}
	f = slices.Compact(slices.Sorted(slices.Values(f))) // a form may equal another
	forms.Store(v, f)
	return f
}

// String masks every known secret value in s.
func (m *masker) String(s string) string {
	if len(m.values) == 0 || s == "" {
		return s
	}
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, mask)
	}
	return s
}

// path is the field's path in messages: "request.headers.X-Token".
func (f *filler) path(field string) string {
	if f.step == "" {
		return field
	}
	return f.step + "." + field
}
