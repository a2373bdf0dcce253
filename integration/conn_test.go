package integration

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/internal/conn"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

// forward serves l by copying every connection to and from target.
func forward(l net.Listener, target string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			s, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer s.Close()
			go func() { _, _ = io.Copy(s, c) }()
			_, _ = io.Copy(c, s)
		}()
	}
}

// A server that refuses connections at first (restarting, or starting with
// the worker) is waited for, with backoff, up to --connect-timeout.
func TestDial_WaitsForAServerThatComesUpLater(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // refused until the server "comes up"

	dialed := make(chan error, 1)
	go func() {
		c, err := conn.Options{Address: addr, Namespace: server.GetDefaultNamespace(), ConnectTimeout: 30 * time.Second}.Dial(context.Background(), nil)
		if err == nil {
			c.Close()
		}
		dialed <- err
	}()
	select {
	case err := <-dialed:
		t.Fatalf("Dial returned before the server came up: %v", err)
	case <-time.After(time.Second):
	}
	l, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	defer l.Close()
	go forward(l, server.GetFrontendHostPort())
	require.NoError(t, <-dialed)
}

func TestDial_GivesUpAfterTheConnectTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = conn.Options{Address: addr, Namespace: "default", ConnectTimeout: 1500 * time.Millisecond}.Dial(context.Background(), nil)
	require.ErrorContains(t, err, "cannot reach Temporal at "+addr)
	require.Regexp(t, `after ([2-9]|\d\d+) tries in`, err.Error(), "it tried again before giving up")
}

// A node refused as invalid leaves one line in the worker's log, naming the
// problem, for ops who see it fail.
func TestHTTPNode_InvalidNodeLogsOneLine(t *testing.T) {
	f := newFixture(t)
	c, logs := f.loggedWorker(t, activities.New(nodeSecrets, testutil.Loopback))
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "invalid-node-log", TaskQueue: f.taskQueue}, workflows.HTTPNodeName,
		json.RawMessage(`{"request": {"url": "ftp://x.example/f"}}`))
	require.NoError(t, err)
	require.Error(t, run.Get(context.Background(), nil))
	require.Equal(t, 1, strings.Count(logs.String(), `"message":"node refused: invalid"`), logs.String())
	require.Contains(t, logs.String(), `request.url: scheme \"ftp\" is not supported`)
}
