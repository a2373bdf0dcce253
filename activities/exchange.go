package activities

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/secrets"
)

// exchange is one request and its response, as the activities report them.
type exchange struct {
	Sent     httpnode.SentRequest
	Response httpnode.Response
	body     []byte // the raw (capped) body, for field lookups
	header   http.Header
	mask     *masker
	// done gives back what reading the body holds (see bodyRead.release);
	// call it when the body is no longer read.
	done func()
}

// sendOptions are what a request needs beyond the node's fields.
type sendOptions struct {
	// idempotencyKey is sent as Idempotency-Key, and as X-Http-Task-Guid
	// too on a retry of the activity.
	idempotencyKey string
	retry          bool
	// msgID is the webhook-id when the request is signed (random if empty).
	msgID string
	// callbackURL is what ${callbackUrl} stands for, token the part of it
	// that is masked; "" when the worker serves no callback receiver.
	callbackURL, token string
	// store lets a body go to the worker's body store (the main request
	// and polls); readsBody says the node's expressions read it, so a
	// stored body is also kept for them (see readBody).
	store, readsBody bool
}

// Exchange sends r once through the client factory and reads the response
// through r's body cap. step ("request", "callback") prefixes error messages.
// Failures to build or send are *temporal.ApplicationError values classified
// by retryability; the response status is not judged here (see checkStatus).
func (a *Activities) exchange(ctx context.Context, step string, r httpnode.Request, opts sendOptions) (*exchange, error) {
	m := &masker{}
	tryCtx, cancel := context.WithTimeout(ctx, r.Timeout.D())
	defer cancel()
	req, fill, err := a.build(tryCtx, step, r, m, opts)
	if err != nil {
		return nil, err
	}
	client, err := a.Clients.Client(r, fill.tls, fill.carried)
	if err != nil {
		return nil, nonRetryable(httpnode.ErrInvalidRequest, "%s.%v", step, err)
	}
	url := req.URL.String()
	if problems := requestSize(req, url).Problems(step); len(problems) > 0 {
		return nil, nonRetryable(httpnode.ErrLimitExceeded, "%s", (&httpnode.ValidationError{Problems: problems}).Error())
	}
	if r.StoreBody && a.Bodies == nil {
		return nil, nonRetryable(httpnode.ErrNoBodyStore, "%s.storeBody: this worker has no body store (start it with --body-store, or drop storeBody)", step)
	}
	ex := &exchange{Sent: sentRequest(req, url, m), mask: m, done: func() {}}
	if err := a.Clients.Policy().CheckURL(req.URL); err != nil {
		return nil, transportError(ctx, step, ex.Sent, r.Timeout.D(), err)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, transportError(ctx, step, ex.Sent, r.Timeout.D(), err)
	}
	defer resp.Body.Close()
	body, err := a.readBody(ctx, resp, r, opts, m)
	if err != nil && !cutByTimeout(ctx, err) {
		var stored *temporal.ApplicationError
		if errors.As(err, &stored) {
			return nil, err
		}
		return nil, transportError(ctx, step, ex.Sent, r.Timeout.D(), err)
	}
	if err != nil && body.ref == nil {
		body.cut = httpnode.CutByTimeout // the try's timeout passed while the body arrived
	}
	if resp.Request != nil && resp.Request.URL.String() != req.URL.String() {
		ex.Sent.FinalURL = m.String(resp.Request.URL.String())
	}
	ex.body, ex.header = body.body, resp.Header
	if body.release != nil {
		ex.done = body.release
	}
	ex.Response = httpnode.Response{
		StatusCode:  resp.StatusCode,
		Status:      resp.Status,
		Headers:     responseHeaders(resp.Header, m),
		HeaderLists: headerLists(resp.Header, m),
		Truncated:   body.cut != "",
		TruncatedBy: body.cut,
		DurationMs:  time.Since(start).Milliseconds(),
		BodyRef:     body.ref,
	}
	if shown := body.shown; utf8.Valid(shown) {
		ex.Response.Body = m.String(string(shown))
	} else {
		ex.Response.Body, ex.Response.BodyEncoding = base64.StdEncoding.EncodeToString(shown), "base64"
	}
	httpnode.FitResponse(&ex.Response, httpnode.ResponseBudget) // lookups use body, whole
	return ex, nil
}

// build fills in secrets and ${callbackUrl} (each secret checked against
// the request's destination), signs, and makes the *http.Request; every
// value put in is added to m. The filler says what the request carries.
func (a *Activities) build(ctx context.Context, step string, r httpnode.Request, m *masker, opts sendOptions) (*http.Request, *filler, error) {
	m.add(opts.token)
	dest, err := url.Parse(r.URL)
	if err != nil || !httpnode.IsAbsoluteHTTP(dest) {
		return nil, nil, nonRetryable(httpnode.ErrInvalidRequest, "%s.url: %q is not an absolute http(s) URL", step, r.URL)
	}
	f := &filler{nodes: a.Secrets, dest: dest, step: step, mask: m, callbackURL: opts.callbackURL}
	if bytes.Contains(r.Body, []byte(httpnode.CallbackURLRef)) {
		// the URL holds no character JSON would escape
		cb, _ := f.refs("body", httpnode.CallbackURLRef)
		r.Body = bytes.ReplaceAll(r.Body, []byte(httpnode.CallbackURLRef), []byte(cb))
	}
	body, contentType, err := encodeBody(r)
	if err != nil {
		return nil, nil, nonRetryable(httpnode.ErrInvalidRequest, "%s.body: %v", step, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, rd)
	if err != nil {
		return nil, nil, nonRetryable(httpnode.ErrInvalidRequest, "%s.url: %q is not an absolute http(s) URL", step, r.URL)
	}
	f.dest = req.URL
	u := req.URL
	queryAuth := r.Auth != nil && r.Auth.Type == "apiKey" && r.Auth.In == "query"
	q := url.Values{} // appended to the URL's own query, which is sent as written
	for k, v := range r.Query {
		q.Set(k, first(f.refs("query."+k, v)))
	}
	header := make(http.Header, len(r.Headers)+4)
	for k, v := range r.Headers {
		f.header(header, k, "headers."+k, v)
	}
	if au := r.Auth; au != nil {
		a.fillAuth(f, *au, header, q, queryAuth)
	}
	if k := opts.idempotencyKey; k != "" {
		header[HeaderIdempotencyKey] = []string{k}
		if opts.retry {
			header[HeaderTaskGUID] = []string{k}
		}
	}
	if r.Sign != nil {
		sign(f, r.Sign, header, opts.msgID, body)
	}
	if r.TLS.UsesSecrets() {
		f.fillTLS(*r.TLS)
	}
	f.checkProxy(r)
	if err := f.err(); err != nil {
		return nil, nil, err
	}
	if len(q) > 0 {
		u.RawQuery = strings.TrimPrefix(u.RawQuery+"&"+q.Encode(), "&")
	}
	if contentType != "" && header.Get("Content-Type") == "" {
		header.Set("Content-Type", contentType)
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", UserAgent)
	}
	req.Header = header
	return req, f, nil
}

// fillAuth sets the request's credentials from the node's auth.
func (a *Activities) fillAuth(f *filler, au httpnode.Auth, header http.Header, q url.Values, queryAuth bool) {
	switch au.Type {
	case "bearer":
		tok, b, _ := f.secretRef("auth.token", au.Token)
		header.Set("Authorization", "Bearer "+tok)
		f.carry("Authorization", b)
	case "basic":
		user, ub := f.refs("auth.username", au.Username)
		pass, pb, _ := f.secretRef("auth.password", au.Password)
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		f.carry("Authorization", append(ub, pb)...)
	case "apiKey":
		name := orDefault(au.Name, "X-API-Key")
		key, b, _ := f.secretRef("auth.key", au.Key)
		if queryAuth {
			q.Set(name, key)
		} else {
			header.Set(name, key)
			f.carry(name, b)
		}
	}
	f.mask.add(header.Get("Authorization"))
}

func first(s string, _ []secrets.Binding) string { return s }

// requestSize is the size of req as it goes out, secrets and parameters in;
// url is req.URL as text.
func requestSize(req *http.Request, url string) httpnode.Size {
	s := httpnode.Size{URLBytes: len(url), Headers: len(req.Header), BodyBytes: int(max(req.ContentLength, 0))}
	for k, vs := range req.Header {
		for _, v := range vs {
			s.HeaderBytes += len(k) + len(v)
		}
	}
	return s
}

// UserAgent is sent unless the node sets its own.
const UserAgent = "httpnode/1"

func encodeBody(r httpnode.Request) ([]byte, string, error) {
	if len(r.Body) == 0 {
		return nil, "", nil
	}
	switch r.BodyType {
	case httpnode.BodyForm:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &obj); err != nil {
			return nil, "", fmt.Errorf("must be an object for bodyType form")
		}
		form := url.Values{}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			form.Set(k, formValue(obj[k]))
		}
		return []byte(form.Encode()), "application/x-www-form-urlencoded", nil
	case httpnode.BodyRaw:
		var s string
		if err := json.Unmarshal(r.Body, &s); err != nil {
			return nil, "", fmt.Errorf("must be a string for bodyType raw")
		}
		return []byte(s), "text/plain; charset=utf-8", nil
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, r.Body); err != nil {
			return nil, "", fmt.Errorf("is not valid JSON")
		}
		return buf.Bytes(), "application/json", nil
	}
}

// formValue is a form field's value: a string as it is, a number or a
// boolean as its JSON text (12345678 stays 12345678, not 1.2345678e+07).
func formValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// maskHeader shows a sensitive header as its scheme and ***, and any other
// with the secrets in it masked.
func maskHeader(k, v string, m *masker) string {
	if httpnode.IsSensitiveHeader(k) {
		if scheme, _, ok := strings.Cut(v, " "); ok && !strings.Contains(scheme, "=") {
			return scheme + " " + mask
		}
		return mask
	}
	return m.String(v)
}

func sentRequest(req *http.Request, url string, m *masker) httpnode.SentRequest {
	s := httpnode.SentRequest{Method: req.Method, URL: m.String(url), Headers: make(map[string]string, len(req.Header))}
	for k, vs := range req.Header {
		s.Headers[k] = maskHeader(k, strings.Join(vs, ", "), m)
	}
	return s
}

func responseHeaders(h http.Header, m *masker) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = maskHeader(k, strings.Join(vs, ", "), m)
	}
	return out
}

// headerLists are the headers of h that have several values, each value
// masked apart; nil when there are none.
func headerLists(h http.Header, m *masker) map[string][]string {
	var out map[string][]string
	for k, vs := range h {
		if len(vs) < 2 {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		masked := make([]string, len(vs))
		for i, v := range vs {
			masked[i] = maskHeader(k, v, m)
		}
		out[k] = masked
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func nonRetryable(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}
