package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/internal/bodystore"
)

// bodiesConfig holds the body store flags.
type bodiesConfig struct {
	spec      string
	maxBytes  int64
	retention time.Duration
}

func (c *bodiesConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.spec, "body-store", "", bodystore.Usage)
	fs.Int64Var(&c.maxBytes, "body-max-bytes", bodystore.DefaultMaxBytes, "the largest body the body store takes; the rest of a longer one is not stored (HTTPNODE_BODY_MAX_BYTES)")
	fs.DurationVar(&c.retention, "body-retention", bodystore.DefaultRetention, "how long stored bodies are kept: the worker deletes older ones (hourly); 0 keeps them, for a store with its own expiry rule (HTTPNODE_BODY_RETENTION)")
}

func (c bodiesConfig) check() error {
	if c.maxBytes < 1 {
		return errors.New("--body-max-bytes must be at least 1 (e.g. 1073741824 for 1 GiB)")
	}
	if c.retention < 0 || (c.retention > 0 && c.retention < time.Minute) {
		return errors.New("--body-retention must be 0 (keep) or at least 1m (e.g. 168h)")
	}
	return nil
}

// openBodies opens the body store (--body-store, or in --dev a directory
// under --dev-data-dir), encrypting with cd when payloads are encrypted,
// and sweeps it until ctx is done. It returns nil without a store.
func openBodies(ctx context.Context, cfg config, cd *codec.Codec, logger zerolog.Logger) (*bodystore.Store, error) {
	spec := cfg.bodies.spec
	if spec == "" && cfg.dev.enabled {
		spec = "mem://"
		if cfg.dev.dataDir != "" {
			spec = filepath.Join(cfg.dev.dataDir, "bodies")
		}
	}
	if spec == "" {
		return nil, nil
	}
	s, err := bodystore.Open(ctx, spec, cd)
	if err != nil {
		return nil, fmt.Errorf("--body-store: %v", err)
	}
	s.MaxBytes = cfg.bodies.maxBytes
	ev := logger.Info().Str("store", s.String()).Bool("encrypted", cd != nil).Int64("maxBytes", s.MaxBytes).Dur("retention", cfg.bodies.retention)
	ev.Msg("body store")
	if cfg.bodies.retention > 0 {
		go s.SweepEvery(ctx, cfg.bodies.retention, func(n int, err error) {
			if err != nil {
				logger.Warn().Err(err).Msg("body store: sweeping old bodies failed (retried within the hour)")
				return
			}
			logger.Info().Int("deleted", n).Dur("retention", cfg.bodies.retention).Msg("body store: old bodies deleted")
		})
	}
	return s, nil
}
