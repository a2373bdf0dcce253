package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/httpnode/httpnode/internal/callbackurl"
	"github.com/httpnode/httpnode/internal/logging"
	"github.com/httpnode/httpnode/internal/receiver"
	"github.com/httpnode/httpnode/internal/secrets"
	"github.com/httpnode/httpnode/internal/webhook"
)

// callbackConfig holds the callback receiver flags.
type callbackConfig struct {
	addr, baseURL, keySecret, signingSecrets string
}

func (c *callbackConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "callback-addr", "", "serve pushed callbacks (callback.mode push) here, e.g. :8235; off when empty (HTTPNODE_CALLBACK_ADDR)")
	fs.StringVar(&c.baseURL, "callback-base-url", "", "the receiver's public URL, as remote systems reach it, e.g. https://hooks.example.com; default http://<callback-addr> (HTTPNODE_CALLBACK_BASE_URL)")
	fs.StringVar(&c.keySecret, "callback-key-secret", secrets.DefaultCallbackKey, "name of the worker key (HTTPNODE_KEY_<NAME>) that signs callback URLs' tokens; every worker of the task queue needs the same (HTTPNODE_CALLBACK_KEY_SECRET)")
	fs.StringVar(&c.signingSecrets, "callback-signing-secrets", "", "names (comma-separated, not values) of the worker keys (HTTPNODE_KEY_<NAME>, whsec_...) whose Standard Webhooks signature pushed callbacks must carry; empty: the URL's token alone (HTTPNODE_CALLBACK_SIGNING_SECRETS)")
}

// callbackSetup is the receiver's address, URL minter and signing secrets,
// read before the worker connects; the receiver starts once it has.
type callbackSetup struct {
	addr    string
	minter  *callbackurl.Minter
	secrets []webhook.Secret
}

// setupCallbacks reads the receiver's configuration: off without
// --callback-addr, except in --dev with the Web UI (then on --ui-port + 2,
// with a key kept in the data directory unless the key secret is set).
func setupCallbacks(cfg config, keys secrets.Store) (*callbackSetup, error) {
	c := cfg.callbacks
	addr := c.addr
	if addr == "" && cfg.dev.enabled && cfg.dev.uiPort != 0 {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.dev.uiPort+2))
	}
	if addr == "" {
		if c.baseURL != "" || c.signingSecrets != "" {
			return nil, errors.New("--callback-base-url and --callback-signing-secrets need --callback-addr (where the receiver listens)")
		}
		return nil, nil
	}
	base := c.baseURL
	if base == "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("--callback-addr %s: %v (use host:port, e.g. :8235)", addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	if err := callbackurl.CheckBase(base); err != nil {
		return nil, err
	}
	key, err := callbackKey(cfg, keys)
	if err != nil {
		return nil, err
	}
	s := &callbackSetup{addr: addr, minter: &callbackurl.Minter{Base: base, Key: key}}
	names, err := secrets.Names("--callback-signing-secrets", c.signingSecrets)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		v, ok := keys.Value(name)
		if !ok {
			return nil, fmt.Errorf("--callback-signing-secrets: key %s is not set (set %s to a whsec_... secret)", name, keys.Where(name))
		}
		sec, err := webhook.ParseSecret(v)
		if err != nil {
			return nil, fmt.Errorf("--callback-signing-secrets: key %s: %v", name, err)
		}
		s.secrets = append(s.secrets, sec)
	}
	return s, nil
}

// callbackKey is the --callback-key-secret secret or, in --dev without it, a
// key kept in the data directory (so URLs stay valid across restarts), or a
// fresh one for an in-memory server.
func callbackKey(cfg config, keys secrets.Store) ([]byte, error) {
	if v, ok := keys.Value(cfg.callbacks.keySecret); ok {
		return []byte(v), nil
	}
	if !cfg.dev.enabled {
		return nil, fmt.Errorf("--callback-addr: callback URLs need a key: set %s to a long random string (every worker of the task queue the same), e.g. head -c 32 /dev/urandom | base64", keys.Where(cfg.callbacks.keySecret))
	}
	if cfg.dev.dataDir == "" {
		return []byte(rand.Text()), nil
	}
	file := filepath.Join(cfg.dev.dataDir, "callback.key")
	if b, err := os.ReadFile(file); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	key := rand.Text()
	if err := os.MkdirAll(cfg.dev.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("--dev-data-dir: %v", err)
	}
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("--dev-data-dir: %v", err)
	}
	return []byte(key), nil
}

// start serves the receiver with the worker's client.
func (s *callbackSetup) start(c client.Client, logger zerolog.Logger) (stop func(), err error) {
	rc := &receiver.Receiver{Client: c, Key: s.minter.Key, Secrets: s.secrets, Logger: logging.SDK{L: logger}}
	stop, bound, err := serve(s.addr, "--callback-addr", rc.Handler())
	if err != nil {
		return nil, err
	}
	logger.Info().Str("address", bound).Str("baseURL", s.minter.Base).Bool("signaturesRequired", len(s.secrets) > 0).
		Msg("callback receiver started: push nodes get ${callbackUrl} under the base URL")
	return stop, nil
}
