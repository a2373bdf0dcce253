package codec

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func encryptStream(t *testing.T, c *Codec, plain []byte) []byte {
	t.Helper()
	var sealed bytes.Buffer
	w, err := c.EncryptStream(&sealed)
	require.NoError(t, err)
	_, err = io.Copy(w, bytes.NewReader(plain))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return sealed.Bytes()
}

// A stream of several chunks comes back whole; it hides its text; a codec
// that holds the key (after a rotation too) reads it.
func TestStreamRoundTrip(t *testing.T) {
	plain := make([]byte, 300<<10) // more than four 64 KiB chunks
	_, _ = rand.Read(plain)
	copy(plain, "the secret report starts here")
	old := testKey(t, "2025-01")
	sealed := encryptStream(t, testCodec(t, old), plain)
	require.NotContains(t, string(sealed), "the secret report")
	require.Less(t, len(sealed), len(plain)+1024, "a small overhead")

	rotated := testCodec(t, testKey(t, "2026-01"), old)
	r, err := rotated.DecryptStream(bytes.NewReader(sealed))
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, plain, got)
}

// A stream under a key the codec does not have, with a wrong secret for
// the id, altered or cut short does not read, and says why.
func TestStreamRefusesWhatItCannotTrust(t *testing.T) {
	k := testKey(t, "k1")
	plain := bytes.Repeat([]byte("row,"), 100<<10)
	sealed := encryptStream(t, testCodec(t, k), plain)

	_, err := testCodec(t, testKey(t, "k2")).DecryptStream(bytes.NewReader(sealed))
	require.ErrorContains(t, err, `encrypted with key "k1", which this worker does not have`)

	_, err = testCodec(t, testKey(t, "k1")).DecryptStream(bytes.NewReader(sealed))
	require.ErrorContains(t, err, `does not decrypt with that key`)

	read := func(b []byte) error {
		r, err := testCodec(t, k).DecryptStream(bytes.NewReader(b))
		if err != nil {
			return err
		}
		_, err = io.ReadAll(r)
		return err
	}
	altered := bytes.Clone(sealed)
	altered[len(altered)/2] ^= 1
	require.Error(t, read(altered), "an altered chunk")
	require.Error(t, read(sealed[:len(sealed)-100]), "a stream cut short")
	require.NoError(t, read(sealed))

	_, err = testCodec(t, k).DecryptStream(bytes.NewReader([]byte("plain text, never encrypted")))
	require.Error(t, err)
}
