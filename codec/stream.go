package codec

import (
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// stanzaType names the age recipient stanza that carries a stream's file
// key sealed under one of the Codec's keys; its one argument is the key id.
const stanzaType = "httpnode-aes-gcm"

// EncryptStream returns a writer that encrypts what is written to it into
// w, under the active key, in the age format (filippo.io/age: 64 KiB
// chunks, each authenticated, so a stream of any size is encrypted and
// decrypted without holding it whole). The stream's random file key is
// sealed with AES-256-GCM under the active key, whose id is written in
// clear in the header. Close must be called to finish the stream; it does
// not close w.
func (c *Codec) EncryptStream(w io.Writer) (io.WriteCloser, error) {
	if c.aeads[c.active] == nil {
		return nil, errors.New("codec: the Codec has no keys (create it with codec.New)")
	}
	return age.Encrypt(w, recipient{c})
}

// DecryptStream returns a reader of the plain text of a stream written by
// EncryptStream, with whichever of the Codec's keys it names. Reads fail
// when the stream was altered or cut short.
func (c *Codec) DecryptStream(r io.Reader) (io.Reader, error) {
	out, err := age.Decrypt(r, recipient{c})
	if err != nil {
		var none *age.NoIdentityMatchError
		if errors.As(err, &none) {
			return nil, errors.New("codec: the stream was not encrypted by this codec (no httpnode key stanza in its header)")
		}
		return nil, err
	}
	return out, nil
}

// recipient is the Codec as an age recipient and identity.
type recipient struct{ c *Codec }

func (r recipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	id := r.c.active
	return []*age.Stanza{{Type: stanzaType, Args: []string{id}, Body: r.c.aeads[id].Seal(nil, nil, fileKey, []byte(id))}}, nil
}

func (r recipient) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != stanzaType || len(s.Args) != 1 {
			continue
		}
		id := s.Args[0]
		aead := r.c.aeads[id]
		if aead == nil {
			return nil, fmt.Errorf("codec: the stream was encrypted with key %q, which this worker does not have (add it to the key list)", id)
		}
		key, err := aead.Open(nil, nil, s.Body, []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: the stream encrypted with key %q does not decrypt with that key (wrong key for that id, or the stream was altered)", id)
		}
		return key, nil
	}
	return nil, age.ErrIncorrectIdentity
}
