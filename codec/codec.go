package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const (
	// Encoding is the value of the "encoding" metadata of every payload Encode writes; Decode decrypts exactly the
	// payloads that carry it and passes every other payload through unchanged.
	Encoding = "binary/encrypted"

	// MetadataKeyID is the metadata key under which Encode records, in clear, the id of the key it encrypted with.
	MetadataKeyID = "encryption-key-id"
)

// Codec is a converter.PayloadCodec that encrypts payloads with AES-256-GCM under its first (active) key and decrypts
// them with whichever of its keys they name. Each encrypted payload's Data is a random 12-byte nonce followed by the
// sealed protobuf encoding of the whole original payload (its metadata, including its encoding, is hidden too); its
// metadata holds only Encoding and MetadataKeyID, and the key id is authenticated, so a payload cannot be relabelled.
//
// A Codec is safe for concurrent use. Create it with New; the zero Codec fails every call.
type Codec struct {
	active string
	aeads  map[string]cipher.AEAD
}

// New returns a Codec that encrypts with keys[0] and decrypts with any of keys. To rotate, put the new key first and
// keep the old ones after it until no history encrypted with them is still read (by workers replaying, by queries,
// by Temporal Web through the codec server).
//
// It fails when keys is empty, an id is empty or repeated, or a secret is not KeySize bytes.
func New(keys ...Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no keys (give at least one; " + makeKeyHint + ")")
	}
	c := &Codec{active: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if k.ID == "" {
			return nil, fmt.Errorf("codec: key %d has an empty id (give every key a short unique name)", i)
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec: key id %q is given twice (each id must name one secret; remove or rename one)", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("codec: key %q is %d bytes, but AES-256 needs %d (%s)", k.ID, len(k.Secret), KeySize, makeKeyHint)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block) // Seal prepends a fresh random nonce; Open reads it back
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

var _ converter.PayloadCodec = (*Codec)(nil)

// ActiveKeyID returns the id of the key Encode encrypts with: the first key given to New.
func (c *Codec) ActiveKeyID() string { return c.active }

// Encode returns an encrypted copy of every payload, under the active key; nil entries stay nil. It does not modify
// its argument. On error it returns nil payloads, never a mix of encrypted and plain ones.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.active]
	if aead == nil {
		return nil, errors.New("codec: the Codec has no keys (create it with codec.New)")
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := p.Marshal()
		if err != nil {
			return nil, fmt.Errorf("codec: payload %d cannot be serialized, so it was not encrypted: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.active),
			},
			Data: aead.Seal(nil, nil, plain, []byte(c.active)),
		}
	}
	return out, nil
}

// Decode returns the original of every payload whose encoding is Encoding, and every other payload unchanged (so
// histories written before encryption was turned on still read). It does not modify its argument.
//
// It fails for a payload encrypted under a key id this Codec does not hold, or one that does not authenticate under
// the key of that id (a wrong secret for the id, or altered data or key id).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		orig, err := c.open(p)
		if err != nil {
			return nil, err
		}
		out[i] = orig
	}
	return out, nil
}

// open decrypts one payload whose encoding is Encoding.
func (c *Codec) open(p *commonpb.Payload) (*commonpb.Payload, error) {
	idBytes, ok := p.Metadata[MetadataKeyID]
	if !ok {
		return nil, fmt.Errorf("codec: payload has encoding %q but no %q metadata (it was not written by this codec; cannot decrypt it)",
			Encoding, MetadataKeyID)
	}
	id := string(idBytes)
	aead := c.aeads[id]
	if aead == nil {
		return nil, fmt.Errorf("codec: payload was encrypted with key %q, which this worker does not have (add it to the key list)", id)
	}
	plain, err := aead.Open(nil, nil, p.Data, idBytes)
	if err != nil {
		return nil, fmt.Errorf("codec: payload encrypted with key %q does not decrypt with that key (wrong key for that id, or the payload was altered)", id)
	}
	orig := &commonpb.Payload{}
	if err := orig.Unmarshal(plain); err != nil {
		return nil, fmt.Errorf("codec: payload encrypted with key %q decrypts, but not to a payload (it was not written by this codec): %w", id, err)
	}
	return orig, nil
}
