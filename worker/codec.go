package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/internal/secrets"
)

// codecConfig holds the codec server flags.
type codecConfig struct {
	addr        string
	origins     string
	tokenSecret string
}

func (c *codecConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "codec-addr", "", "serve the codec server (/encode, /decode) for Temporal Web and the temporal CLI here, e.g. :8234; needs --encryption-keys (HTTPNODE_CODEC_ADDR)")
	fs.StringVar(&c.origins, "codec-origins", "http://localhost:8233,http://127.0.0.1:8233", "origins of Temporal Web allowed to call the codec server from a browser, comma-separated (HTTPNODE_CODEC_ORIGINS)")
	fs.StringVar(&c.tokenSecret, "codec-token-secret", secrets.DefaultCodecToken, "name of the worker key (HTTPNODE_KEY_<NAME>) holding the codec server's token: callers send \"Authorization: Bearer <token>\" or put it first in the path (HTTPNODE_CODEC_TOKEN_SECRET)")
}

// codecServer is a running codec server.
type codecServer struct {
	stop func()
	// UIEndpoint is the endpoint for the embedded Web UI, the token in its
	// path (the UI has no login to send one with): it is only for --dev.
	UIEndpoint string
}

// startCodecServer serves the codec server on --codec-addr or, in --dev with
// encryption on, next to the Web UI (on --ui-port + 1). Without either it
// returns nil. The token is the --codec-token-secret secret; --dev makes a
// random one when that secret is not set.
func startCodecServer(cfg config, cd *codec.Codec, keys secrets.Store, logger zerolog.Logger) (*codecServer, error) {
	addr := cfg.codec.addr
	devUI := cfg.dev.enabled && cfg.dev.uiPort != 0
	if cd == nil {
		if addr != "" {
			return nil, errors.New("--codec-addr: the codec server needs --encryption-keys (it decodes with the worker's keys)")
		}
		return nil, nil
	}
	if addr == "" && !devUI {
		return nil, nil
	}
	origins := splitList(cfg.codec.origins)
	if devUI {
		ui := strconv.Itoa(cfg.dev.uiPort)
		for _, o := range []string{"http://127.0.0.1:" + ui, "http://localhost:" + ui} {
			if !slices.Contains(origins, o) { // the default origins are the default UI's
				origins = append(origins, o)
			}
		}
		if addr == "" {
			addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.dev.uiPort+1))
		}
	}
	token, ok := keys.Value(cfg.codec.tokenSecret)
	if !ok {
		if !cfg.dev.enabled {
			return nil, fmt.Errorf("--codec-addr: the codec server needs a token: set %s (e.g. head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')", keys.Where(cfg.codec.tokenSecret))
		}
		token = rand.Text()
	}
	h, err := codec.NewServer(cd, codec.ServerOptions{Token: token, Origins: origins})
	if err != nil {
		return nil, fmt.Errorf("--codec-addr: %v", err)
	}
	stop, bound, err := serve(addr, "--codec-addr", h)
	if err != nil {
		return nil, err
	}
	s := &codecServer{stop: stop}
	if devUI {
		s.UIEndpoint = "http://" + bound + "/" + token
	}
	logger.Info().Str("address", bound).Str("activeKey", cd.ActiveKeyID()).Strs("origins", origins).
		Msg("codec server started: Temporal Web and the temporal CLI decode payloads here with the token")
	return s, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
