// Package conn holds the Temporal connection settings shared by the worker
// and the starter: flags with the temporal CLI's environment variables as
// defaults, and a dial that fails with a message saying what to do.
package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/internal/secrets"
)

// Options are the connection settings.
type Options struct {
	Address, Namespace string
	// TLS is forced on by TLS, by a client certificate, or by an API key.
	TLS                      bool
	ClientCert, ClientKey    string
	ServerCACert, ServerName string
	APIKey                   string
	// ConnectTimeout bounds Dial (default 10s).
	ConnectTimeout time.Duration
	// EncryptionKeys are the ids of the payload encryption keys,
	// comma-separated, the first one encrypting (see package codec); each
	// is a worker key (HTTPNODE_KEY_<ID>, or the file <ID> in KeysDir).
	// Empty: no encryption.
	EncryptionKeys string
	// KeysDir is a directory of worker keys, one file per key (a mounted
	// Kubernetes Secret apart from the nodes' secrets).
	KeysDir string
	// LookupEnv replaces os.LookupEnv for the keys in tests.
	LookupEnv func(string) (string, bool)
}

// DefaultAddress is where a local (and the --dev) Temporal server listens.
const DefaultAddress = "127.0.0.1:7233"

// Register adds the connection flags to fs; the variables named in their
// usage apply through flagenv.Apply. The API key is read from
// TEMPORAL_API_KEY only: flags show in process lists.
func (o *Options) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.Address, "address", DefaultAddress, "Temporal frontend host:port (TEMPORAL_ADDRESS)")
	fs.StringVar(&o.Namespace, "namespace", "default", "Temporal namespace (TEMPORAL_NAMESPACE)")
	fs.BoolVar(&o.TLS, "tls", false, "connect with TLS (TEMPORAL_TLS)")
	fs.StringVar(&o.ClientCert, "tls-cert-path", "", "client certificate for mTLS (TEMPORAL_TLS_CLIENT_CERT_PATH)")
	fs.StringVar(&o.ClientKey, "tls-key-path", "", "client key for mTLS (TEMPORAL_TLS_CLIENT_KEY_PATH)")
	fs.StringVar(&o.ServerCACert, "tls-ca-path", "", "CA of the server certificate (TEMPORAL_TLS_SERVER_CA_CERT_PATH)")
	fs.StringVar(&o.ServerName, "tls-server-name", "", "server name to verify (TEMPORAL_TLS_SERVER_NAME)")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 10*time.Second, "how long to wait for the server at start (HTTPNODE_CONNECT_TIMEOUT)")
	fs.StringVar(&o.EncryptionKeys, "encryption-keys", "", "encrypt payloads (inputs, results, errors) with these key ids, comma-separated, the first encrypting; each key is a worker key (HTTPNODE_KEY_<ID>) of 32 bytes in base64 (HTTPNODE_ENCRYPTION_KEYS)")
	fs.StringVar(&o.KeysDir, "keys-dir", "", "directory of the worker's own keys, one file per key; nodes cannot reach them (HTTPNODE_KEYS_DIR)")
	o.APIKey = os.Getenv("TEMPORAL_API_KEY")
}

// Keys is the store of worker keys: HTTPNODE_KEY_<NAME>, then KeysDir.
func (o Options) Keys() secrets.Store {
	k := secrets.Keys(o.KeysDir)
	k.LookupEnv = o.LookupEnv
	return k
}

// KeyIDs are the ids of EncryptionKeys. Errors name the flag and never
// repeat an id that may be a key's value.
func (o Options) KeyIDs() ([]string, error) {
	return secrets.Names("--encryption-keys", o.EncryptionKeys)
}

// Codec returns the payload codec of EncryptionKeys, or nil without keys.
// Errors name the key and where it is read from, never its value.
func (o Options) Codec() (*codec.Codec, error) {
	ids, err := o.KeyIDs()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	store := o.Keys()
	var keys []codec.Key
	for _, id := range ids {
		v, ok := store.Value(id)
		if !ok {
			return nil, fmt.Errorf("--encryption-keys: key %s is not set (set %s to 32 random bytes in base64: head -c 32 /dev/urandom | base64)", id, store.Where(id))
		}
		k, err := codec.ParseKey(id, v)
		if err != nil {
			return nil, fmt.Errorf("--encryption-keys: %v", err)
		}
		keys = append(keys, k)
	}
	return codec.New(keys...)
}

// ClientOptions returns the SDK client options for o.
func (o Options) ClientOptions(logger log.Logger) (client.Options, error) {
	opts := client.Options{HostPort: o.Address, Namespace: o.Namespace, Logger: logger}
	c, err := o.Codec()
	if err != nil {
		return opts, err
	}
	opts.DataConverter = codec.Converter()
	if c != nil {
		opts.DataConverter, opts.FailureConverter = codec.DataConverter(c), codec.FailureConverter(c)
	}
	if o.TLS || o.ClientCert != "" || o.APIKey != "" || o.ServerCACert != "" {
		conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
		if o.ClientCert != "" || o.ClientKey != "" {
			cert, err := tls.LoadX509KeyPair(o.ClientCert, o.ClientKey)
			if err != nil {
				return opts, fmt.Errorf("--tls-cert-path/--tls-key-path: %v", err)
			}
			conf.Certificates = []tls.Certificate{cert}
		}
		if o.ServerCACert != "" {
			pem, err := os.ReadFile(o.ServerCACert)
			if err != nil {
				return opts, fmt.Errorf("--tls-ca-path: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return opts, fmt.Errorf("--tls-ca-path: %s holds no PEM certificate", o.ServerCACert)
			}
			conf.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = conf
	}
	if o.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(o.APIKey)
	}
	return opts, nil
}

// Dial connects to Temporal, waiting at most ConnectTimeout (default 10s):
// a server that refuses connections or is not healthy yet (restarting,
// starting with the worker) is tried again with backoff, from 100ms up to
// 2s between tries, so a restarted server does not crash-loop its workers.
func (o Options) Dial(ctx context.Context, logger log.Logger) (client.Client, error) {
	opts, err := o.ClientOptions(logger)
	if err != nil {
		return nil, err
	}
	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start, wait := time.Now(), 100*time.Millisecond
	for tries := 1; ; tries++ {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %q) after %d tries in %s: %v\n"+
				"start a local server with `go run ./worker --dev`, or set TEMPORAL_ADDRESS / --address (and --connect-timeout to wait longer)",
				o.Address, o.Namespace, tries, time.Since(start).Round(100*time.Millisecond), err)
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}
