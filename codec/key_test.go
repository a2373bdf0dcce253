package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseKey_AcceptsBase64AndHex(t *testing.T) {
	secret := bytes.Repeat([]byte{0xfb, 0xef, 0xbe, 0x01}, KeySize/4) // encodes with + and / (or - and _)
	tests := []struct {
		name  string
		value string
	}{
		{name: "standard base64", value: base64.StdEncoding.EncodeToString(secret)},
		{name: "standard base64 with a newline", value: base64.StdEncoding.EncodeToString(secret) + "\n"},
		{name: "raw standard base64", value: base64.RawStdEncoding.EncodeToString(secret)},
		{name: "url base64", value: base64.URLEncoding.EncodeToString(secret)},
		{name: "raw url base64", value: base64.RawURLEncoding.EncodeToString(secret)},
		{name: "hex", value: hex.EncodeToString(secret)},
		{name: "upper-case hex", value: strings.ToUpper(hex.EncodeToString(secret))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey("2025-06", tt.value)
			require.NoError(t, err)
			require.Equal(t, Key{ID: "2025-06", Secret: secret}, k)
		})
	}
}

func TestParseKey_RejectsWithoutShowingTheKey(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		value   string
		wantErr string
	}{
		{name: "16 bytes", id: "k1", value: base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key")),
			wantErr: `codec: key "k1" decodes to 16 bytes, but AES-256 needs 32`},
		{name: "33 bytes", id: "k1", value: base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte("k"), 33)),
			wantErr: `codec: key "k1" decodes to 33 bytes`},
		{name: "62 hex digits", id: "k1", value: hex.EncodeToString(bytes.Repeat([]byte("k"), 31)),
			wantErr: `codec: key "k1" decodes to 46 bytes`},
		{name: "garbage", id: "k2", value: "not a key!! but a sentence",
			wantErr: `codec: key "k2" is neither base64 nor hex (found 26 characters`},
		{name: "empty", id: "k3", value: " \n", wantErr: `codec: key "k3" is empty`},
		{name: "no id", id: "", value: base64.StdEncoding.EncodeToString(make([]byte, KeySize)),
			wantErr: "codec: key id is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.id, tt.value)
			require.ErrorContains(t, err, tt.wantErr)
			require.Equal(t, Key{}, k)
			if tt.id != "" {
				require.ErrorContains(t, err, "head -c 32 /dev/urandom | base64")
			}
			if v := strings.TrimSpace(tt.value); len(v) > 8 {
				require.NotContains(t, err.Error(), v)
				require.NotContains(t, err.Error(), v[:8])
			}
		})
	}
}
