package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSDKBridge_OneJSONStreamWithFields(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "info", "json")
	require.NoError(t, err)
	sdk := SDK{L: l}.With("WorkflowID", "wf-1", "RunID", "r-1")
	sdk.Debug("hidden at info")
	sdk.Info("node finished", "status", "SUCCEEDED", "polls", 3)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1, "debug lines are filtered at level info")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	require.Equal(t, "node finished", got["message"])
	require.Equal(t, "info", got["level"])
	require.Equal(t, "wf-1", got["WorkflowID"])
	require.Equal(t, "SUCCEEDED", got["status"])
	require.EqualValues(t, 3, got["polls"])
}

func TestNew_RejectsBadLevelAndFormat(t *testing.T) {
	_, err := New(&bytes.Buffer{}, "loud", "json")
	require.ErrorContains(t, err, `--log-level: "loud" is not a level`)
	_, err = New(&bytes.Buffer{}, "info", "xml")
	require.ErrorContains(t, err, `--log-format: "xml" is not a format (use json or console)`)
	var buf bytes.Buffer
	l, err := New(&buf, "warn", "console")
	require.NoError(t, err)
	SDK{L: l}.Warn("careful", "k", "v")
	require.Contains(t, buf.String(), "careful")
	require.Contains(t, buf.String(), "k=v")
}
