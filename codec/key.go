package codec

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length in bytes of every key's Secret: AES-256 takes 32 bytes.
const KeySize = 32

// makeKeyHint tells the reader of an error how to make a valid key.
const makeKeyHint = "make one with: head -c 32 /dev/urandom | base64"

// Key is one AES-256 key and its id. The id is written, in clear, into every payload encrypted with the key (metadata
// "encryption-key-id"), so that a codec holding several keys knows which one to decrypt with: ids are names, not
// secrets, and a given id must always stand for the same Secret. Secret must be KeySize (32) bytes.
type Key struct {
	ID     string
	Secret []byte
}

// ParseKey returns the key named id whose secret is value, given as 32 bytes in standard or URL-safe base64 (padded
// or not) or as 64 hex digits; spaces and newlines around value are ignored, so the contents of a file written by
// `head -c 32 /dev/urandom | base64 > key` can be passed as they are.
//
// Its errors name id, say what was found (a length, never the material itself) and how to make a key.
func ParseKey(id, value string) (Key, error) {
	if id == "" {
		return Key{}, errors.New(`codec: key id is empty (give every key a short name, e.g. "2025-06", that is written into the payloads it encrypts)`)
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return Key{}, fmt.Errorf("codec: key %q is empty (%s)", id, makeKeyHint)
	}
	if len(value) == 2*KeySize {
		if secret, err := hex.DecodeString(value); err == nil {
			return Key{ID: id, Secret: secret}, nil
		}
	}
	decoded := -1 // the length of the longest base64 decoding, when one decodes but to the wrong length
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		secret, err := enc.DecodeString(value)
		if err != nil {
			continue
		}
		if len(secret) == KeySize {
			return Key{ID: id, Secret: secret}, nil
		}
		decoded = max(decoded, len(secret))
	}
	if decoded >= 0 {
		return Key{}, fmt.Errorf("codec: key %q decodes to %d bytes, but AES-256 needs %d (%s)", id, decoded, KeySize, makeKeyHint)
	}
	return Key{}, fmt.Errorf("codec: key %q is neither base64 nor hex (found %d characters; want 44 base64 characters or 64 hex digits; %s)",
		id, len(value), makeKeyHint)
}
