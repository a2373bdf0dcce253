package main

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/internal/secrets"
	"github.com/httpnode/httpnode/internal/testutil"
)

// With the Web UI on its default port, the codec server's origins (the
// default UI's) are listed once each.
func TestCodecServer_ListsEachOriginOnce(t *testing.T) {
	k, err := codec.ParseKey("K1", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	require.NoError(t, err)
	cd, err := codec.New(k)
	require.NoError(t, err)
	var cfg config
	cfg.dev.enabled, cfg.dev.uiPort = true, 8233
	cfg.codec.origins, cfg.codec.addr = "http://localhost:8233,http://127.0.0.1:8233", "127.0.0.1:0"
	var logs testutil.SyncBuffer
	cs, err := startCodecServer(cfg, cd, secrets.Keys(""), zerolog.New(&logs))
	require.NoError(t, err)
	defer cs.stop()
	require.Contains(t, logs.String(), `"origins":["http://localhost:8233","http://127.0.0.1:8233"]`)
	require.Equal(t, 1, strings.Count(logs.String(), "http://127.0.0.1:8233"))
}
