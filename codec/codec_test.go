package codec

import (
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const secretBody = "card=4111-1111-1111-1111&cvv=737-plaintext-marker"

type node struct {
	URL  string `json:"url"`
	Body string `json:"body"`
}

func TestDataConverter_RoundTripHidesPlaintext(t *testing.T) {
	dc := DataConverter(testCodec(t, testKey(t, "k1")))
	in := node{URL: "https://api.example/jobs", Body: secretBody}

	payloads, err := dc.ToPayloads(in, secretBody)
	require.NoError(t, err)
	require.Len(t, payloads.Payloads, 2)
	for _, p := range payloads.Payloads {
		requireEncrypted(t, p, "k1", secretBody)
	}

	var out node
	var outString string
	require.NoError(t, dc.FromPayloads(payloads, &out, &outString))
	require.Equal(t, in, out)
	require.Equal(t, secretBody, outString)

	one, err := dc.ToPayload(in)
	require.NoError(t, err)
	requireEncrypted(t, one, "k1", secretBody)
	out = node{}
	require.NoError(t, dc.FromPayload(one, &out))
	require.Equal(t, in, out)
}

func TestCodec_EncodeUsesFreshNonceAndKeepsInput(t *testing.T) {
	c := testCodec(t, testKey(t, "k1"))
	plain, err := converter.GetDefaultDataConverter().ToPayload(secretBody)
	require.NoError(t, err)
	before, err := plain.Marshal()
	require.NoError(t, err)

	first, err := c.Encode([]*commonpb.Payload{plain, nil})
	require.NoError(t, err)
	second, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)

	require.Nil(t, first[1])
	require.NotEqual(t, first[0].GetData(), second[0].GetData(), "two encryptions of one payload must differ")
	after, err := plain.Marshal()
	require.NoError(t, err)
	require.Equal(t, before, after, "Encode modified its input")
}

func TestCodec_KeyRotationAndFailures(t *testing.T) {
	k1, k2 := testKey(t, "k1"), testKey(t, "k2")
	plain, err := converter.GetDefaultDataConverter().ToPayload(node{Body: secretBody})
	require.NoError(t, err)
	underK1, err := testCodec(t, k1).Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	encrypted := underK1[0]

	tampered := &commonpb.Payload{Metadata: encrypted.GetMetadata(), Data: append([]byte(nil), encrypted.GetData()...)}
	tampered.Data[len(tampered.Data)/2] ^= 0x01
	// k1b has k1's secret: only the authenticated key id tells the two apart.
	k1b := Key{ID: "k1b", Secret: k1.Secret}
	relabelled := &commonpb.Payload{
		Metadata: map[string][]byte{"encoding": []byte(Encoding), MetadataKeyID: []byte("k1b")},
		Data:     encrypted.GetData(),
	}
	noKeyID := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(Encoding)}, Data: encrypted.GetData()}

	tests := []struct {
		name    string
		keys    []Key
		in      *commonpb.Payload
		wantErr string // empty: decodes to plain
	}{
		{name: "old key kept after the new one", keys: []Key{k2, k1}, in: encrypted},
		{name: "unencrypted payload passes through", keys: []Key{k2}, in: plain},
		{name: "old key dropped", keys: []Key{k2},
			in: encrypted, wantErr: `codec: payload was encrypted with key "k1", which this worker does not have (add it to the key list)`},
		{name: "other secret under the same id", keys: []Key{testKey(t, "k1")},
			in: encrypted, wantErr: `codec: payload encrypted with key "k1" does not decrypt with that key (wrong key for that id, or the payload was altered)`},
		{name: "tampered ciphertext", keys: []Key{k1},
			in: tampered, wantErr: `codec: payload encrypted with key "k1" does not decrypt with that key`},
		{name: "relabelled key id", keys: []Key{k1, k1b},
			in: relabelled, wantErr: `codec: payload encrypted with key "k1b" does not decrypt with that key`},
		{name: "no key id", keys: []Key{k1}, in: noKeyID, wantErr: `no "encryption-key-id" metadata`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := testCodec(t, tt.keys...).Decode([]*commonpb.Payload{tt.in})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, out)
				return
			}
			require.NoError(t, err)
			require.True(t, plain.Equal(out[0]), "got %v, want %v", out[0], plain)
		})
	}
}

func TestCodec_NewEncodesUnderFirstKey(t *testing.T) {
	k1, k2 := testKey(t, "k1"), testKey(t, "k2")
	rotated := testCodec(t, k2, k1)
	require.Equal(t, "k2", rotated.ActiveKeyID())

	payloads, err := DataConverter(rotated).ToPayloads(secretBody)
	require.NoError(t, err)
	requireEncrypted(t, payloads.Payloads[0], "k2", secretBody)

	_, err = testCodec(t, k1).Decode(payloads.Payloads)
	require.ErrorContains(t, err, `key "k2"`)
}

func TestNew_RejectsBadKeys(t *testing.T) {
	good := testKey(t, "k1")
	tests := []struct {
		name    string
		keys    []Key
		wantErr string
	}{
		{name: "no keys", keys: nil, wantErr: "codec: no keys"},
		{name: "empty id", keys: []Key{good, {Secret: good.Secret}}, wantErr: "key 1 has an empty id"},
		{name: "repeated id", keys: []Key{good, testKey(t, "k1")}, wantErr: `key id "k1" is given twice`},
		{name: "short secret", keys: []Key{{ID: "short", Secret: make([]byte, 16)}},
			wantErr: `key "short" is 16 bytes, but AES-256 needs 32`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.keys...)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, c)
		})
	}
}

func TestCodec_ZeroValueRefusesToEncode(t *testing.T) {
	out, err := (&Codec{}).Encode([]*commonpb.Payload{{Data: []byte(secretBody)}})
	require.ErrorContains(t, err, "create it with codec.New")
	require.Nil(t, out)
}
