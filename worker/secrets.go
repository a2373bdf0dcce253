package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rs/zerolog"

	"github.com/httpnode/httpnode/internal/secrets"
)

// secretConfig holds where node secrets are read.
type secretConfig struct {
	prefix, dir string
}

func (c *secretConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.prefix, "secret-prefix", secrets.NodePrefix, "environment prefix of ${secret.NAME} values and their <NAME>_HOSTS bindings (HTTPNODE_SECRET_PREFIX)")
	fs.StringVar(&c.dir, "secrets-dir", "", "directory of node secrets, one file per ${secret.NAME} and a NAME.hosts file binding it to its hosts, e.g. a mounted Kubernetes Secret (HTTPNODE_SECRETS_DIR)")
}

// workerKeys names the worker's own keys, as its flags give them, each
// with what it is for. Names that may be values are refused unrepeated.
func workerKeys(cfg config) (secrets.WorkerKeys, error) {
	keys := secrets.WorkerKeys{}
	for _, k := range []struct{ flag, list, what string }{
		{"--encryption-keys", cfg.conn.EncryptionKeys, secrets.KeyEncryption},
		{"--codec-token-secret", cfg.codec.tokenSecret, secrets.KeyCodecToken},
		{"--callback-key-secret", cfg.callbacks.keySecret, secrets.KeyCallback},
		{"--callback-signing-secrets", cfg.callbacks.signingSecrets, secrets.KeyCallbackSigning},
	} {
		names, err := secrets.Names(k.flag, k.list)
		if err != nil {
			return nil, err
		}
		keys.Add(k.what, names...)
	}
	return keys, nil
}

// nodeSecrets are the secrets the worker offers to nodes: without its own
// keys and, in --dev, binding secrets that have no binding to loopback.
// A worker key found among the node secrets (where it used to be read) is
// an error naming where it belongs now.
func nodeSecrets(cfg config, keys secrets.WorkerKeys) (*secrets.Nodes, error) {
	store := secrets.Store{Prefix: cfg.secrets.prefix, Dir: cfg.secrets.dir}
	ks := cfg.conn.Keys()
	for _, name := range keys.Names() {
		if _, inNodes := store.Value(name); inNodes {
			if _, inKeys := ks.Value(name); !inKeys {
				return nil, fmt.Errorf("%s %s is set among the node secrets (%s), where nodes could reach it: worker keys are read from %s; move it there", keys[name], name, store.Where(name), ks.Where(name))
			}
		}
	}
	n := &secrets.Nodes{Store: store, Keys: keys}
	if cfg.dev.enabled {
		n.Default = secrets.Loopback
	}
	return n, nil
}

// logSecrets says at start which node secrets nodes cannot use for want of
// a binding, and, in --dev, that such secrets are bound to loopback.
func logSecrets(logger zerolog.Logger, n *secrets.Nodes) {
	unbound := n.Unbound(os.Environ())
	if n.Default != nil {
		logger.Info().Str("binding", n.Default.String()).Strs("secrets", unbound).
			Msg("secrets without a binding of their own are bound to loopback for the demo (--dev)")
		return
	}
	for _, name := range unbound {
		logger.Warn().Str("secret", name).Msg(fmt.Sprintf("secret %s is not bound to any host, so nodes cannot use it: set %s (or the file %s.hosts in --secrets-dir) to the hosts it is for", name, n.Store.HostsVar(name), name))
	}
}
