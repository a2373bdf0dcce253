//go:build nodev

package main

import (
	"context"
	"errors"

	"github.com/rs/zerolog"
)

// startDev is not available in production builds (-tags nodev): they do not
// carry the embedded server.
func startDev(context.Context, *config, zerolog.Logger) (func(), error) {
	return nil, errors.New("--dev is not available in this build (built with -tags nodev); run a Temporal server and set TEMPORAL_ADDRESS")
}
