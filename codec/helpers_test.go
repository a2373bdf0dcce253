package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
)

// testKey returns a fresh random key named id.
func testKey(t *testing.T, id string) Key {
	t.Helper()
	secret := make([]byte, KeySize)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	return Key{ID: id, Secret: secret}
}

// testCodec returns a Codec over keys, failing the test on error.
func testCodec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys...)
	require.NoError(t, err)
	return c
}

// requireHidden fails unless b holds neither secret nor, at any alignment, its base64 form (the way JSON, the codec
// server and Temporal Web show bytes).
func requireHidden(t *testing.T, b []byte, secret string) {
	t.Helper()
	require.NotContains(t, string(b), secret)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		shown := enc.EncodeToString(b)
		for shift := range 3 {
			chunk := enc.EncodeToString([]byte(secret[shift:]))
			chunk = chunk[:len(chunk)-4] // the last group depends on the bytes that follow
			require.NotContains(t, shown, chunk, "base64 of the secret (shift %d) is visible", shift)
		}
	}
}

// requireEncrypted fails unless p is an encrypted payload under keyID that hides secret.
func requireEncrypted(t *testing.T, p *commonpb.Payload, keyID, secret string) {
	t.Helper()
	require.Equal(t, map[string][]byte{"encoding": []byte(Encoding), MetadataKeyID: []byte(keyID)}, p.GetMetadata())
	b, err := p.Marshal()
	require.NoError(t, err)
	requireHidden(t, b, secret)
	require.False(t, bytes.Contains(p.GetData(), []byte("json/plain")), "the original encoding is visible")
}
