//go:build !nodev

package main

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/httpnode/httpnode/internal/devserver"
)

// startDev starts the embedded Temporal server and Web UI and points the
// worker at it.
func startDev(_ context.Context, cfg *config, logger zerolog.Logger) (stop func(), err error) {
	start := time.Now()
	srv, err := devserver.Start(devserver.Config{
		Port: cfg.dev.port, UIPort: cfg.dev.uiPort, DataDir: cfg.dev.dataDir, Namespace: cfg.conn.Namespace,
		Logger: logger, CodecEndpoint: cfg.dev.codecEndpoint,
	})
	if err != nil {
		return nil, err
	}
	cfg.conn.Address = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.dev.port))
	ev := logger.Info().Str("address", srv.Address).Str("namespace", cfg.conn.Namespace).
		Str("dataDir", cfg.dev.dataDir).Dur("startup", time.Since(start))
	if srv.UIURL != "" {
		ev = ev.Str("webUI", srv.UIURL)
	}
	ev.Msg("embedded Temporal server started (--dev)")
	cfg.devReady = srv.Ready
	return srv.Stop, nil
}
