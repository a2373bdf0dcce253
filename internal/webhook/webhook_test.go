package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/internal/webhook"
)

// The published test vector of the Standard Webhooks reference libraries:
// github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go
// (TestWebhookSign) and libraries/javascript/src/webhook.test.ts ("sign
// function works"), which both expect this signature for these inputs.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorUnix      = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var vectorTime = time.Unix(vectorUnix, 0)

func mustSecret(t *testing.T, s string) webhook.Secret {
	t.Helper()
	secret, err := webhook.ParseSecret(s)
	require.NoError(t, err)
	return secret
}

func freshSecret(t *testing.T) webhook.Secret {
	t.Helper()
	s, err := webhook.NewSecret()
	require.NoError(t, err)
	return mustSecret(t, s)
}

// requireOnly asserts err matches want and neither of the other sentinels.
func requireOnly(t *testing.T, err, want error) {
	t.Helper()
	require.ErrorIs(t, err, want)
	for _, other := range []error{webhook.ErrMissingHeaders, webhook.ErrTimestamp, webhook.ErrSignature} {
		if other != want {
			require.False(t, errors.Is(err, other), "error %q also matches %v", err, other)
		}
	}
}

func TestSign_PublishedVector(t *testing.T) {
	secret := mustSecret(t, vectorSecret)
	require.Equal(t, vectorSignature, webhook.Sign(secret, vectorID, vectorTime, []byte(vectorPayload)))
	// Sub-second parts of the time are not signed.
	require.Equal(t, vectorSignature, webhook.Sign(secret, vectorID, vectorTime.Add(999*time.Millisecond), []byte(vectorPayload)))
}

func TestVerify_PublishedVector(t *testing.T) {
	secret := mustSecret(t, vectorSecret)
	tests := []struct {
		name                string
		idH, tsH, sigH      string
		signature, ts, body string
	}{
		{"webhook headers", "webhook-id", "webhook-timestamp", "webhook-signature", vectorSignature, "1614265330", vectorPayload},
		{"svix headers", "svix-id", "svix-timestamp", "svix-signature", vectorSignature, "1614265330", vectorPayload},
		{"among other entries", "webhook-id", "webhook-timestamp", "webhook-signature",
			"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= garbage " + vectorSignature,
			"1614265330", vectorPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.idH, vectorID)
			h.Set(tt.tsH, tt.ts)
			h.Set(tt.sigH, tt.signature)
			id, err := webhook.Verify(h, []byte(tt.body), []webhook.Secret{secret}, vectorTime, 0)
			require.NoError(t, err)
			require.Equal(t, vectorID, id)
		})
	}
}

func TestSignHeaders_SetsAllThreeHeaders(t *testing.T) {
	a, b := freshSecret(t), freshSecret(t)
	body := []byte(`{"ok":true}`)
	h := http.Header{}
	h.Set(webhook.HeaderSignature, "v1,stale")
	webhook.SignHeaders(h, []webhook.Secret{a, b}, "msg_1", vectorTime.Add(500*time.Millisecond), body)

	require.Equal(t, []string{"msg_1"}, h.Values(webhook.HeaderID))
	require.Equal(t, []string{"1614265330"}, h.Values(webhook.HeaderTimestamp))
	require.Equal(t, []string{webhook.Sign(a, "msg_1", vectorTime, body) + " " + webhook.Sign(b, "msg_1", vectorTime, body)},
		h.Values(webhook.HeaderSignature))

	webhook.SignHeaders(h, nil, "msg_2", vectorTime, body)
	require.Empty(t, h.Values(webhook.HeaderSignature), "no secrets must leave no signature header")
	require.Equal(t, "msg_2", h.Get(webhook.HeaderID))
}

func TestVerify_RoundTripAndRotation(t *testing.T) {
	oldKey, newKey, other := freshSecret(t), freshSecret(t), freshSecret(t)
	body := []byte(`{"type":"job.done","data":{"id":42}}`)
	tests := []struct {
		name     string
		signWith []webhook.Secret
		verifyBy []webhook.Secret
		wantErr  error
	}{
		{"one secret", []webhook.Secret{newKey}, []webhook.Secret{newKey}, nil},
		{"signed with both, verified by new", []webhook.Secret{newKey, oldKey}, []webhook.Secret{newKey}, nil},
		{"signed with both, verified by old", []webhook.Secret{newKey, oldKey}, []webhook.Secret{oldKey}, nil},
		{"signed with old, receiver holds both", []webhook.Secret{oldKey}, []webhook.Secret{newKey, oldKey}, nil},
		{"signed with both, receiver holds another", []webhook.Secret{newKey, oldKey}, []webhook.Secret{other}, webhook.ErrSignature},
		{"signed with new, receiver holds old only", []webhook.Secret{newKey}, []webhook.Secret{oldKey}, webhook.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			h := http.Header{}
			webhook.SignHeaders(h, tt.signWith, "msg_rt", now, body)
			id, err := webhook.Verify(h, body, tt.verifyBy, now.Add(time.Second), 0)
			if tt.wantErr != nil {
				requireOnly(t, err, tt.wantErr)
				require.Empty(t, id)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "msg_rt", id)
		})
	}
}

func TestVerify_TimestampTolerance(t *testing.T) {
	secret := mustSecret(t, vectorSecret)
	tests := []struct {
		name      string
		now       time.Time
		tolerance time.Duration
		wantErr   error
		wantMsg   string
	}{
		{"default, exactly 5m old", vectorTime.Add(5 * time.Minute), 0, nil, ""},
		{"default, 5m and 1ns old", vectorTime.Add(5*time.Minute + time.Nanosecond), 0, webhook.ErrTimestamp, "old, more than the"},
		{"default, exactly 5m ahead", vectorTime.Add(-5 * time.Minute), 0, nil, ""},
		{"default, 5m and 1ns ahead", vectorTime.Add(-5*time.Minute - time.Nanosecond), 0, webhook.ErrTimestamp, "in the future, more than the"},
		{"default, an hour old", vectorTime.Add(time.Hour), 0, webhook.ErrTimestamp, "old, more than the"},
		{"negative means default", vectorTime.Add(5 * time.Minute), -time.Second, nil, ""},
		{"30s, exactly 30s old", vectorTime.Add(30 * time.Second), 30 * time.Second, nil, ""},
		{"30s, 31s old", vectorTime.Add(31 * time.Second), 30 * time.Second, webhook.ErrTimestamp, "old, more than the"},
		{"30s, 31s ahead", vectorTime.Add(-31 * time.Second), 30 * time.Second, webhook.ErrTimestamp, "in the future, more than the"},
		{"1h, 59m old", vectorTime.Add(59 * time.Minute), time.Hour, nil, ""},
		{"1h, 59m ahead", vectorTime.Add(-59 * time.Minute), time.Hour, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("webhook-id", vectorID)
			h.Set("webhook-timestamp", "1614265330")
			h.Set("webhook-signature", vectorSignature)
			id, err := webhook.Verify(h, []byte(vectorPayload), []webhook.Secret{secret}, tt.now, tt.tolerance)
			if tt.wantErr != nil {
				requireOnly(t, err, tt.wantErr)
				require.Contains(t, err.Error(), tt.wantMsg)
				require.Empty(t, id)
				return
			}
			require.NoError(t, err)
			require.Equal(t, vectorID, id)
		})
	}
}

// delivery is what TestVerify_Rejects hands to Verify, for cases to alter.
type delivery struct {
	h       http.Header
	body    []byte
	secrets []webhook.Secret
}

func setHeader(name, value string) func(*delivery) {
	return func(d *delivery) { d.h.Set(name, value) }
}

func delHeader(name string) func(*delivery) {
	return func(d *delivery) { d.h.Del(name) }
}

func TestVerify_Rejects(t *testing.T) {
	secret := mustSecret(t, vectorSecret)
	other := freshSecret(t)
	// mac is the valid vector signature's base64, to relabel with other versions.
	mac := strings.TrimPrefix(vectorSignature, "v1,")
	tests := []struct {
		name    string
		mutate  func(*delivery)
		wantErr error
	}{
		{"missing id", delHeader("webhook-id"), webhook.ErrMissingHeaders},
		{"missing timestamp", delHeader("webhook-timestamp"), webhook.ErrMissingHeaders},
		{"missing signature", delHeader("webhook-signature"), webhook.ErrMissingHeaders},
		{"empty id", setHeader("webhook-id", ""), webhook.ErrMissingHeaders},
		{"blank id", setHeader("webhook-id", " "), webhook.ErrMissingHeaders},
		{"blank signature", setHeader("webhook-signature", "   "), webhook.ErrMissingHeaders},
		{"timestamp not a number", setHeader("webhook-timestamp", "hello"), webhook.ErrTimestamp},
		{"timestamp with sign", setHeader("webhook-timestamp", "+1614265330"), webhook.ErrTimestamp},
		{"timestamp with fraction", setHeader("webhook-timestamp", "1614265330.0"), webhook.ErrTimestamp},
		{"timestamp in milliseconds", setHeader("webhook-timestamp", "1614265330000"), webhook.ErrTimestamp},
		{"timestamp overflowing", setHeader("webhook-timestamp", "99999999999999999999"), webhook.ErrTimestamp},
		{"timestamp past year 9999", setHeader("webhook-timestamp", "18446744073709551615"), webhook.ErrTimestamp},
		{"timestamp changed within tolerance", setHeader("webhook-timestamp", "1614265331"), webhook.ErrSignature},
		{"bad signature", setHeader("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), webhook.ErrSignature},
		{"signature from another secret",
			setHeader("webhook-signature", webhook.Sign(other, vectorID, vectorTime, []byte(vectorPayload))), webhook.ErrSignature},
		{"receiver holds another secret", func(d *delivery) { d.secrets = []webhook.Secret{other} }, webhook.ErrSignature},
		{"receiver holds no secret", func(d *delivery) { d.secrets = nil }, webhook.ErrSignature},
		{"body changed by one byte", func(d *delivery) { d.body = []byte(`{"test": 2432232315}`) }, webhook.ErrSignature},
		{"body with a trailing newline", func(d *delivery) { d.body = append(d.body, '\n') }, webhook.ErrSignature},
		{"id changed", setHeader("webhook-id", vectorID+"x"), webhook.ErrSignature},
		{"unknown version only", setHeader("webhook-signature", "v2,"+mac), webhook.ErrSignature},
		{"asymmetric version only", setHeader("webhook-signature", "v1a,"+mac), webhook.ErrSignature},
		{"signature without version", setHeader("webhook-signature", mac), webhook.ErrSignature},
		{"truncated signature", setHeader("webhook-signature", vectorSignature[:8]), webhook.ErrSignature},
		{"garbage", setHeader("webhook-signature", "garbage"), webhook.ErrSignature},
		{"version only", setHeader("webhook-signature", "v1,"), webhook.ErrSignature},
		{"not base64", setHeader("webhook-signature", "v1,!!!!%%%%"), webhook.ErrSignature},
		{"commas and spaces", setHeader("webhook-signature", ", ,, v1,,"+mac), webhook.ErrSignature},
		{"svix id used when webhook id is absent", func(d *delivery) {
			d.h.Del("webhook-id")
			d.h.Set("svix-id", "msg_other")
		}, webhook.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &delivery{h: http.Header{}, body: []byte(vectorPayload), secrets: []webhook.Secret{secret}}
			d.h.Set("webhook-id", vectorID)
			d.h.Set("webhook-timestamp", "1614265330")
			d.h.Set("webhook-signature", vectorSignature)

			// The unmodified delivery verifies, so each rejection is the mutation's doing.
			_, err := webhook.Verify(d.h.Clone(), d.body, d.secrets, vectorTime, 0)
			require.NoError(t, err)

			tt.mutate(d)
			id, err := webhook.Verify(d.h, d.body, d.secrets, vectorTime, 0)
			requireOnly(t, err, tt.wantErr)
			require.Empty(t, id)
			require.NotContains(t, err.Error(), mac, "errors must not echo signatures")
			if tt.wantErr == webhook.ErrTimestamp {
				require.Contains(t, err.Error(), "not a Unix time in whole seconds")
			}
		})
	}
}

func TestVerify_SignatureErrorSaysWhy(t *testing.T) {
	secret := mustSecret(t, vectorSecret)
	tests := []struct {
		name, signature, wantMsg string
	}{
		{"only other versions", "v1a,abc v2,def", "holds no v1 signature"},
		{"v1 that does not match", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "no v1 signature matches the configured secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(webhook.HeaderID, vectorID)
			h.Set(webhook.HeaderTimestamp, "1614265330")
			h.Set(webhook.HeaderSignature, tt.signature)
			_, err := webhook.Verify(h, []byte(vectorPayload), []webhook.Secret{secret}, vectorTime, 0)
			requireOnly(t, err, webhook.ErrSignature)
			require.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestParseSecret(t *testing.T) {
	vectorKey := mustSecret(t, vectorSecret)
	require.Len(t, vectorKey, 24)
	tests := []struct {
		name string
		in   string
		want webhook.Secret
	}{
		{"with prefix", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", vectorKey},
		{"without prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", vectorKey},
		{"surrounding whitespace", " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", vectorKey},
		{"padded", "whsec_c2VjcmV0", webhook.Secret("secret")},
		{"padding kept", "whsec_c2VjcmV0MQ==", webhook.Secret("secret1")},
		{"padding dropped", "whsec_c2VjcmV0MQ", webhook.Secret("secret1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.ParseSecret(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseSecret_RejectsWithoutEchoingInput(t *testing.T) {
	tests := []struct {
		name, in, mustNotContain string
	}{
		{"empty", "", ""},
		{"prefix only", "whsec_", ""},
		{"not base64", "whsec_hunter2!hunter2", "hunter2"},
		{"url alphabet", "whsec_Zm9v-_Zm9v", "Zm9v"},
		{"raw text", "my-secret-passphrase", "passphrase"},
		{"bad padding", "whsec_c2VjcmV0MQ=", "c2VjcmV0MQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.ParseSecret(tt.in)
			require.Error(t, err)
			require.Nil(t, got)
			msg := err.Error()
			if tt.mustNotContain != "" {
				require.NotContains(t, msg, tt.mustNotContain)
			}
			require.Contains(t, msg, "whsec_", "the message must say how to write a secret")
			require.Equal(t, strings.ToLower(msg[:1]), msg[:1])
		})
	}
}

func TestNewSecret_ParsesBackAndDiffers(t *testing.T) {
	a, err := webhook.NewSecret()
	require.NoError(t, err)
	b, err := webhook.NewSecret()
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	for _, s := range []string{a, b} {
		require.True(t, strings.HasPrefix(s, "whsec_"), s)
		key := mustSecret(t, s)
		require.GreaterOrEqual(t, len(key), 24)
		require.LessOrEqual(t, len(key), 64)
	}
}

func TestSecret_FormattingRedacts(t *testing.T) {
	secret := webhook.Secret("hunter2")
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q"} {
		out := fmt.Sprintf(verb, secret)
		require.Contains(t, out, "redacted", verb)
		require.NotContains(t, out, "hunter2", verb)
		require.NotContains(t, out, fmt.Sprintf("%x", []byte("hunter2")), verb)
		require.NotContains(t, out, "aHVudGVyMg", verb) // base64 of the key
	}
	require.Equal(t, fmt.Sprintf("%x", secret.String()), fmt.Sprintf("%x", secret))
}
