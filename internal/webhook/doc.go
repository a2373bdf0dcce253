// Package webhook signs and verifies HTTP deliveries with the Standard
// Webhooks scheme (https://www.standardwebhooks.com, spec version 1.0.0,
// symmetric "v1" signatures).
//
// A delivery carries three headers:
//
//	webhook-id:        msg_p5jXN8AQM9LWM0D4loKWxJek
//	webhook-timestamp: 1614265330
//	webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
//
// The signature is the standard base64 of HMAC-SHA256 over
// "{id}.{timestamp}.{body}", keyed with the secret. The signature header is a
// space-separated list, so a sender rotating its secret signs with both the
// new and the old one and a receiver accepts the delivery if any v1 signature
// matches any of its secrets. Other versions (for example "v1a", the
// asymmetric ed25519 scheme) are ignored.
//
// Secrets are written "whsec_" followed by the standard base64 of the key:
//
//	secret, err := webhook.ParseSecret(os.Getenv("WEBHOOK_SECRET"))
//
// Sending:
//
//	webhook.SignHeaders(req.Header, []webhook.Secret{secret}, id, time.Now(), body)
//
// Receiving (pass the body exactly as received, before any JSON decoding):
//
//	id, err := webhook.Verify(r.Header, body, []webhook.Secret{secret}, time.Now(), 0)
//	switch {
//	case errors.Is(err, webhook.ErrMissingHeaders), errors.Is(err, webhook.ErrTimestamp), errors.Is(err, webhook.ErrSignature):
//		http.Error(w, err.Error(), http.StatusUnauthorized)
//	}
//
// Use the returned id as an idempotency key: the sender keeps it across
// retries. Verify also reads the "svix-" header names that Svix-based senders
// use.
package webhook
