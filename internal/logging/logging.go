// Package logging builds the process's zerolog logger and bridges it into
// the Temporal SDK, so worker, workflow and activity lines are one stream.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/log"
)

// New returns a logger at level ("debug", "info", "warn", "error") writing
// JSON lines, or human-readable lines when format is "console".
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("--log-level: %q is not a level (use debug, info, warn or error)", level)
	}
	switch format {
	case "json":
	case "console":
		noColor := true // colours only on a terminal, not in files and pipes
		if f, ok := w.(*os.File); ok {
			noColor = !isatty.IsTerminal(f.Fd())
		}
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: noColor}
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format: %q is not a format (use json or console)", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// SDK adapts a zerolog.Logger to the Temporal SDK's log.Logger; With adds
// the workflow and activity ids the SDK passes.
type SDK struct{ L zerolog.Logger }

var (
	_ log.Logger     = SDK{}
	_ log.WithLogger = SDK{}
)

func (s SDK) Debug(msg string, kv ...any) { s.L.Debug().Fields(kv).Msg(msg) }
func (s SDK) Info(msg string, kv ...any)  { s.L.Info().Fields(kv).Msg(msg) }
func (s SDK) Warn(msg string, kv ...any)  { s.L.Warn().Fields(kv).Msg(msg) }
func (s SDK) Error(msg string, kv ...any) { s.L.Error().Fields(kv).Msg(msg) }

// With returns a logger that adds keyvals to every line.
func (s SDK) With(kv ...any) log.Logger { return SDK{s.L.With().Fields(kv).Logger()} }
