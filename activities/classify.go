package activities

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
)

// MaxRetryAfter caps a remote's Retry-After so one answer cannot park an
// activity for hours.
const MaxRetryAfter = 10 * time.Minute

// retryableStatus reports whether a status outside the success rule is worth
// retrying: the remote may answer differently later.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests ||
		(code >= 500 && code != http.StatusNotImplemented)
}

// checkStatus judges the response against r's success rule. Outside it, the
// error is an HTTPStatus ApplicationError carrying details, retryable for
// 408, 429 and 5xx but 501 (honouring Retry-After), final otherwise.
func checkStatus(step string, r httpnode.Request, ex *exchange, details any) error {
	code := ex.Response.StatusCode
	if httpnode.StatusMatches(r.SuccessStatus, code) {
		return nil
	}
	msg, ok := httpnode.ErrorMessageFor(r.ErrorMessages, code)
	if ok {
		msg = fmt.Sprintf("%s: %s (HTTP %d)", step, ex.mask.String(msg), code)
	} else {
		msg = fmt.Sprintf("%s: %s %s answered %s%s", step, ex.Sent.Method, httpnode.RedactURL(ex.Sent.URL), ex.Response.Status, ex.Response.Excerpt())
	}
	opts := temporal.ApplicationErrorOptions{NonRetryable: !retryableStatus(code), Details: []any{details}}
	if !opts.NonRetryable {
		opts.NextRetryDelay = retryAfter(ex.header.Get("Retry-After"), time.Now())
	}
	return temporal.NewApplicationErrorWithOptions(msg, httpnode.ErrHTTPStatus, opts)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date) into a
// delay capped at MaxRetryAfter; zero when absent or unreadable, which leaves
// the activity's backoff in charge.
func retryAfter(v string, now time.Time) time.Duration {
	return min(httpnode.ParseRetryAfter(v, now), MaxRetryAfter)
}

// transportError classifies a failure to get a response: the per-try timeout
// and connection failures are retryable, certificate failures and malformed
// requests are final.
func transportError(activityCtx context.Context, step string, sent httpnode.SentRequest, timeout time.Duration, err error) error {
	if activityCtx.Err() != nil {
		return activityCtx.Err() // the activity itself was cancelled or timed out
	}
	target := sent.Method + " " + httpnode.RedactURL(sent.URL)
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var denied *egress.DeniedError
	var redirect *redirectError
	var unchecked *uncheckedError
	switch {
	case errors.As(err, &denied):
		return nonRetryable(httpnode.ErrDestinationDenied, "%s: %s: %v", step, target, denied)
	case errors.As(err, &unchecked):
		return nonRetryable(httpnode.ErrDestinationDenied, "%s: %s: %v", step, target, unchecked)
	case errors.As(err, &redirect) && redirect.cert:
		return nonRetryable(httpnode.ErrSecretNotBound, "%s: %s: %v", step, target, redirect)
	case errors.As(err, &redirect):
		return nonRetryable(httpnode.ErrRedirectLoop, "%s: %s: %v", step, target, redirect)
	// net/http reports these two only as text (transport.go, the same from
	// Go 1.13 through 1.26: "net/http: server response headers exceeded %d
	// bytes; aborted" and "net/http: timeout awaiting response headers", the
	// latter also as "http2: timeout awaiting response headers");
	// TestSendRequest_Limits pins both against the real transport.
	case strings.Contains(err.Error(), "server response headers exceeded"):
		return nonRetryable(httpnode.ErrLimitExceeded, "%s: %s: response headers larger than %d bytes", step, target, httpnode.MaxResponseHeaderBytes)
	case strings.Contains(err.Error(), "timeout awaiting response headers"):
		return temporal.NewApplicationError(fmt.Sprintf("%s: %s: no response headers within the worker's --response-header-timeout", step, target), httpnode.ErrTimeout)
	case errors.Is(err, context.DeadlineExceeded):
		return temporal.NewApplicationError(fmt.Sprintf("%s: %s: no response within %s (raise %s.timeout if the remote is slow)", step, target, timeout, step), httpnode.ErrTimeout)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidCert):
		return nonRetryable(httpnode.ErrTLS, "%s: %s: certificate verification failed: %v (set %s.tls.ca or tls.caFile to trust a private CA)", step, target, rootCause(err), step)
	}
	return temporal.NewApplicationError(fmt.Sprintf("%s: %s: %v", step, target, rootCause(err)), httpnode.ErrTransport)
}

// rootCause drops url.Error's repetition of method and URL (which may hold
// secrets) from a transport error.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
