package devserver

import (
	"sync/atomic"

	"github.com/rs/zerolog"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// Logger adapts a zerolog.Logger to the server's logger: errors only (the
// server is chatty), as one field per tag, without stack traces, and nothing
// while Quiet is set (a starting or stopping server logs its own transitions
// as errors).
type Logger struct {
	L     zerolog.Logger
	Quiet *atomic.Bool
}

var _ log.Logger = Logger{}

func (l Logger) Debug(string, ...tag.Tag)           {}
func (l Logger) Info(string, ...tag.Tag)            {}
func (l Logger) Warn(msg string, tags ...tag.Tag)   { l.log(zerolog.WarnLevel, msg, tags) }
func (l Logger) Error(msg string, tags ...tag.Tag)  { l.log(zerolog.ErrorLevel, msg, tags) }
func (l Logger) DPanic(msg string, tags ...tag.Tag) { l.log(zerolog.ErrorLevel, msg, tags) }
func (l Logger) Panic(msg string, tags ...tag.Tag)  { l.log(zerolog.ErrorLevel, msg, tags) }
func (l Logger) Fatal(msg string, tags ...tag.Tag)  { l.log(zerolog.ErrorLevel, msg, tags) }

func (l Logger) log(level zerolog.Level, msg string, tags []tag.Tag) {
	if l.Quiet != nil && l.Quiet.Load() {
		return
	}
	ev := l.L.WithLevel(level).Str("component", "temporal-server")
	for _, t := range tags {
		if t.Key() == "stacktrace" || t.Key() == "logging-call-at" {
			continue
		}
		ev = ev.Interface(t.Key(), t.Value())
	}
	ev.Msg(msg)
}
