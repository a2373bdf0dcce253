package codec

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"go.temporal.io/sdk/converter"
)

// DefaultMaxBodyBytes is the largest request body the codec server reads when ServerOptions.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 4 << 20

// corsAllowHeaders are the request headers Temporal Web and the CLI send to a codec server.
const corsAllowHeaders = "Content-Type, X-Namespace, Authorization, Authorization-Extras, Caller-Type"

const authHelp = "codec server: missing or wrong token: send the header \"Authorization: Bearer <token>\" " +
	"(temporal CLI: --codec-endpoint URL --codec-auth \"Bearer <token>\"), " +
	"or put the token first in the path (Temporal Web codec endpoint: http://host:port/<token>)\n"

// ServerOptions configures NewServer.
type ServerOptions struct {
	// Token is required. A request is let in when it carries "Authorization: Bearer <Token>" or when its path starts
	// with the token ("/<Token>/encode", "/<Token>/decode"). As it may appear in a URL path, it may hold only letters,
	// digits and - _ . ~ + = (make one with: head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=').
	Token string

	// Origins are the browser origins (scheme://host[:port], exactly as the browser sends them, no path) allowed to
	// call the server from a page, e.g. "http://localhost:8233" for Temporal Web. Empty means no browser access (the
	// CLI needs none). "*" is rejected: list each origin of Temporal Web.
	Origins []string

	// MaxBodyBytes bounds request bodies; a larger one is answered 413. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// NewServer returns the remote codec server for c that Temporal Web and the temporal CLI speak: POST /encode and
// POST /decode take and return JSON {"payloads":[...]} (converter.NewPayloadCodecHTTPHandler does the protocol).
//
// Around the protocol it answers, in order:
//   - OPTIONS (a CORS preflight), without a token: 204 with the CORS headers for an allowed Origin, 403 otherwise.
//   - GET or HEAD on / or /healthz, without a token: 200 and a line saying this is a codec server.
//   - POST with an Origin header that is not allowed: 403 (a request from a page of another site).
//   - POST without the token in the Authorization header or the path: 401, with a body saying how to authenticate.
//   - POST with a body over MaxBodyBytes: 413.
//
// Every answer to an allowed Origin carries Access-Control-Allow-Origin (that origin) and
// Access-Control-Allow-Credentials; an answer to any other origin carries no CORS header.
func NewServer(c *Codec, opts ServerOptions) (http.Handler, error) {
	if c == nil {
		return nil, errors.New("codec server: the codec is nil (create one with codec.New)")
	}
	if opts.Token == "" {
		return nil, errors.New("codec server: the token is empty (make one with: head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')")
	}
	if strings.IndexFunc(opts.Token, notTokenRune) >= 0 {
		return nil, errors.New("codec server: the token holds a character that cannot stand in a URL path " +
			"(use only letters, digits and - _ . ~ + =; make one with: head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')")
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("codec server: MaxBodyBytes is %d (give a positive size, or 0 for %d)", opts.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s := &server{
		protocol:  converter.NewPayloadCodecHTTPHandler(c),
		tokenHash: sha256.Sum256([]byte(opts.Token)),
		origins:   make(map[string]bool, len(opts.Origins)),
		maxBody:   opts.MaxBodyBytes,
	}
	for _, o := range opts.Origins {
		origin, err := parseOrigin(o)
		if err != nil {
			return nil, err
		}
		s.origins[origin] = true
	}
	return s, nil
}

type server struct {
	protocol  http.Handler
	tokenHash [sha256.Size]byte
	origins   map[string]bool
	maxBody   int64
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && s.origins[origin]
	h := w.Header()
	h.Add("Vary", "Origin")
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}

	switch r.Method {
	case http.MethodOptions:
		if !allowed {
			http.Error(w, "codec server: this origin is not allowed (add it to the codec server's allowed origins)", http.StatusForbidden)
			return
		}
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
		if r.URL.Path != "/" && r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "httpnode payload codec server: POST /encode or /decode with a token\n")
		return
	case http.MethodPost:
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS, POST")
		http.Error(w, "codec server: method not allowed (POST /encode or /decode)", http.StatusMethodNotAllowed)
		return
	}

	if origin != "" && !allowed {
		http.Error(w, "codec server: this origin is not allowed (add it to the codec server's allowed origins)", http.StatusForbidden)
		return
	}
	op, pathToken, ok := splitPath(r.URL.Path)
	if !ok {
		http.Error(w, "codec server: not found (POST /encode, /decode, /<token>/encode or /<token>/decode)", http.StatusNotFound)
		return
	}
	if !s.tokenMatches(pathToken) && !s.tokenMatches(bearer(r.Header.Get("Authorization"))) {
		h.Set("WWW-Authenticate", `Bearer realm="codec"`)
		http.Error(w, authHelp, http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("codec server: request body is over %d bytes (send fewer payloads per request)", s.maxBody),
				http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "codec server: reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	inner := r.Clone(r.Context())
	inner.URL.Path, inner.URL.RawPath = "/"+op, ""
	inner.Body = io.NopCloser(bytes.NewReader(body))
	inner.ContentLength = int64(len(body))
	s.protocol.ServeHTTP(w, inner)
}

// tokenMatches reports, in time independent of the token's content and length, whether candidate is the token.
func (s *server) tokenMatches(candidate string) bool {
	if candidate == "" {
		return false
	}
	got := sha256.Sum256([]byte(candidate))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// splitPath splits "/encode" into ("encode", "") and "/<token>/decode" into ("decode", "<token>"); ok is false for
// any other path.
func splitPath(path string) (op, token string, ok bool) {
	rest, found := strings.CutPrefix(path, "/")
	if !found {
		return "", "", false
	}
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		token, rest = rest[:i], rest[i+1:]
		if token == "" || strings.Contains(token, "/") {
			return "", "", false
		}
	}
	if rest != "encode" && rest != "decode" {
		return "", "", false
	}
	return rest, token, true
}

// bearer returns the credentials of an "Authorization: Bearer <credentials>" header value, or "".
func bearer(header string) string {
	scheme, creds, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(creds)
}

func notTokenRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_.~+=", r)
}

// parseOrigin returns o as browsers send it in the Origin header (lowercase scheme://host[:port]), or an error saying
// what is wrong with it.
func parseOrigin(o string) (string, error) {
	if o == "*" {
		return "", errors.New(`codec server: origin "*" is not allowed (the server decrypts history; list each origin of Temporal Web, e.g. http://localhost:8233)`)
	}
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("codec server: origin %q is not scheme://host[:port] (write it as the browser shows it, e.g. http://localhost:8233, without a path)", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}
