package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks scheme.
const (
	// HeaderID carries the message id; it stays the same across retries.
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the attempt time in whole Unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature carries space-separated "version,signature" pairs.
	HeaderSignature = "webhook-signature"
)

// Svix's names for the same headers, read by Verify when the webhook- ones are empty.
const (
	svixID        = "svix-id"
	svixTimestamp = "svix-timestamp"
	svixSignature = "svix-signature"
)

// DefaultTolerance is how far a delivery's timestamp may be from now, in
// either direction, when Verify is given a tolerance of zero or less.
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a serialized symmetric secret.
const secretPrefix = "whsec_"

// maxTimestamp bounds webhook-timestamp (year 9999) so time.Unix cannot overflow.
const maxTimestamp = 253402300799

// Errors returned by Verify, to be matched with errors.Is. The returned
// errors wrap one of these with details for the operator.
var (
	// ErrMissingHeaders means webhook-id, webhook-timestamp or
	// webhook-signature (or its svix- name) is absent or empty.
	ErrMissingHeaders = errors.New("webhook: missing signature headers")
	// ErrTimestamp means webhook-timestamp is not a Unix time in seconds, or
	// is further from now than the tolerance (a replay, or a skewed clock).
	ErrTimestamp = errors.New("webhook: timestamp rejected")
	// ErrSignature means no v1 signature matches any of the secrets.
	ErrSignature = errors.New("webhook: signature rejected")
)

// Secret is an HMAC-SHA256 signing key: the decoded bytes, not the "whsec_"
// text. Its String and GoString methods redact it, so the %v, %s, %q, %x
// and %#v verbs print a placeholder (%d still prints the bytes: don't).
type Secret []byte

// String returns a placeholder, never the key.
func (s Secret) String() string { return "whsec_(redacted)" }

// GoString returns a placeholder, never the key.
func (s Secret) GoString() string { return "webhook.Secret(redacted)" }

// ParseSecret decodes a secret written as "whsec_" followed by the standard
// base64 (padded or not) of the key, or as the base64 alone. Surrounding
// whitespace is ignored. The key must not be empty. Errors never contain s.
func ParseSecret(s string) (Secret, error) {
	enc := strings.TrimPrefix(strings.TrimSpace(s), secretPrefix)
	if enc == "" {
		return nil, errors.New(`webhook secret: empty (write it as "whsec_" followed by the base64 of the key)`)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil {
		// err names only an offset, but drop it anyway: the key is the input.
		return nil, errors.New(`webhook secret: not valid base64 (write it as "whsec_" followed by the standard base64 of the key, as NewSecret prints)`)
	}
	return Secret(key), nil
}

// NewSecret returns a fresh random 32-byte key written as "whsec_<base64>",
// the form ParseSecret reads. It fails only if the system's random source does.
func NewSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhook secret: reading random bytes: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Sign returns "v1," followed by the standard base64 of HMAC-SHA256 keyed
// with secret over "{id}.{unix seconds of ts}.{body}". Sub-second parts of ts
// are dropped, as the timestamp header carries whole seconds.
func Sign(secret Secret, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(secret, id, ts.Unix(), body))
}

// SignHeaders sets webhook-id, webhook-timestamp and webhook-signature on h,
// replacing earlier values. The signature header holds one Sign result per
// secret, space-separated and in the order given, so that receivers holding
// either key accept the delivery during a rotation. With no secrets it
// deletes webhook-signature rather than send an empty one.
func SignHeaders(h http.Header, secrets []Secret, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if len(secrets) == 0 {
		h.Del(HeaderSignature)
		return
	}
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		sigs[i] = Sign(s, id, ts, body)
	}
	h.Set(HeaderSignature, strings.Join(sigs, " "))
}

// Verify checks a delivery and returns its message id. Each header is read
// under its webhook- name, or its svix- name when that is empty; all three
// must be non-empty (else ErrMissingHeaders). The timestamp must be decimal
// Unix seconds within tolerance of now in either direction, the bound itself
// included: |now - ts| <= tolerance (else ErrTimestamp); tolerance <= 0 means
// DefaultTolerance. At least one "v1,..." entry of the signature header (all
// its values, split on spaces) must equal Sign for one of secrets, compared
// in constant time (else ErrSignature); entries of other versions or that do
// not parse are skipped. body must be the bytes as received. On error the id
// is "".
func Verify(h http.Header, body []byte, secrets []Secret, now time.Time, tolerance time.Duration) (id string, err error) {
	id = header(h, HeaderID, svixID)
	tsText := header(h, HeaderTimestamp, svixTimestamp)
	sigText := signatures(h, HeaderSignature, svixSignature)
	for _, m := range []struct{ name, value string }{
		{HeaderID, id}, {HeaderTimestamp, tsText}, {HeaderSignature, sigText},
	} {
		if strings.TrimSpace(m.value) == "" {
			return "", fmt.Errorf("%w: %s is absent or empty (the sender must set %s, %s and %s)",
				ErrMissingHeaders, m.name, HeaderID, HeaderTimestamp, HeaderSignature)
		}
	}

	sec, perr := strconv.ParseUint(tsText, 10, 64)
	if perr != nil || sec > maxTimestamp {
		return "", fmt.Errorf("%w: %s is not a Unix time in whole seconds", ErrTimestamp, HeaderTimestamp)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	switch age := now.Sub(time.Unix(int64(sec), 0)); {
	case age > tolerance:
		return "", fmt.Errorf("%w: %s is %s old, more than the %s tolerance (a replay, or the sender's clock is behind)",
			ErrTimestamp, HeaderTimestamp, age.Truncate(time.Second), tolerance)
	case age < -tolerance:
		return "", fmt.Errorf("%w: %s is %s in the future, more than the %s tolerance (check the sender's clock)",
			ErrTimestamp, HeaderTimestamp, (-age).Truncate(time.Second), tolerance)
	}

	if len(secrets) == 0 {
		return "", fmt.Errorf("%w: no secrets configured to verify with", ErrSignature)
	}
	want := make([][]byte, len(secrets))
	for i, s := range secrets {
		want[i] = mac(s, id, int64(sec), body)
	}
	v1 := 0
	for _, entry := range strings.Fields(sigText) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		v1++
		got, derr := base64.StdEncoding.DecodeString(sig)
		if derr != nil {
			continue
		}
		for _, w := range want {
			if hmac.Equal(got, w) {
				return id, nil
			}
		}
	}
	if v1 == 0 {
		return "", fmt.Errorf("%w: %s holds no v1 signature (only v1, HMAC-SHA256, is supported)", ErrSignature, HeaderSignature)
	}
	return "", fmt.Errorf("%w: no v1 signature matches the configured secrets (check the secret, and pass the body unmodified)", ErrSignature)
}

// mac is HMAC-SHA256 keyed with secret over "{id}.{sec}.{body}".
func mac(secret Secret, id string, sec int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, sec, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// header returns name's first value, or fallback's when that is empty.
func header(h http.Header, name, fallback string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	return h.Get(fallback)
}

// signatures returns name's values joined by spaces, or fallback's when
// that is blank.
func signatures(h http.Header, name, fallback string) string {
	if v := strings.Join(h.Values(name), " "); strings.TrimSpace(v) != "" {
		return v
	}
	return strings.Join(h.Values(fallback), " ")
}
