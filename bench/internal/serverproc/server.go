// Package serverproc runs a Temporal server as a process of its own, on a
// persistent store (a SQLite file, or PostgreSQL from Debian's package,
// started here), for the chaos run and the server-cost bench: kill it,
// start it again, read its CPU time.
package serverproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/httpnode/httpnode/internal/devserver"
)

// serveEnv, when set, makes a binary calling Serve the server process: it
// holds the server's settings as JSON.
const serveEnv = "HTTPNODE_BENCH_SERVER"

type serveConfig struct {
	Port    int    `json:"port"`
	PGPort  int    `json:"pgPort,omitempty"` // 0: SQLite in DataDir
	DataDir string `json:"dataDir,omitempty"`
}

// Serve makes this process the server process when Start started it: it
// runs the embedded Temporal server on its store until SIGTERM (or
// SIGKILL, which is the point), then exits. Otherwise it returns at once.
// Call it first in main.
func Serve() {
	raw, ok := os.LookupEnv(serveEnv)
	if !ok {
		return
	}
	var sc serveConfig
	if err := json.Unmarshal([]byte(raw), &sc); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	cfg := devserver.Config{Port: sc.Port, DataDir: sc.DataDir, Logger: zerolog.New(os.Stderr).Level(zerolog.WarnLevel)}
	if sc.PGPort != 0 {
		cfg.Store, cfg.VisibilityStore = pgStores(sc.PGPort)
	}
	srv, err := devserver.Start(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	srv.Ready()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	srv.Stop()
	os.Exit(0)
}

// Server is a Temporal server process on its store, and a client of it.
type Server struct {
	Addr   string
	Proc   *Proc
	Client client.Client
	pg     *postgres
}

// Start starts the server process (this binary again, see Serve) with its
// store ("sqlite" or "postgres") and logs in dir, and dials it.
func Start(ctx context.Context, dir, store string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	sc := serveConfig{Port: port}
	switch store {
	case "sqlite":
		sc.DataDir = filepath.Join(dir, "sqlite")
	case "postgres":
		if s.pg, err = startPostgres(dir); err != nil {
			return nil, err
		}
		sc.PGPort = s.pg.port
	default:
		return nil, fmt.Errorf("--store %q: use sqlite or postgres", store)
	}
	raw, _ := json.Marshal(sc)
	s.Proc = &Proc{Name: "server", Args: []string{self}, Env: []string{serveEnv + "=" + string(raw)}, Log: filepath.Join(dir, "server.log")}
	if err := s.Proc.Start(); err != nil {
		s.Stop()
		return nil, err
	}
	if s.Client, err = Dial(ctx, s.Addr, 2*time.Minute); err != nil {
		s.Stop()
		return nil, err
	}
	if s.pg != nil {
		if err := registerNamespace(ctx, s.Client, s.Addr); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// Stop stops the server and its store.
func (s *Server) Stop() {
	if s.Client != nil {
		s.Client.Close()
	}
	if s.Proc != nil {
		s.Proc.Kill(syscall.SIGTERM)
	}
	if s.pg != nil {
		s.pg.stop()
	}
}

// CPU is the CPU time the server process has used in this life, and what
// its store's processes have used (zero for SQLite, which is inside the
// server).
func (s *Server) CPU() (server, store time.Duration) {
	server = s.Proc.CPU()
	if s.pg != nil {
		store = s.pg.cpu()
	}
	return server, store
}

func registerNamespace(ctx context.Context, c client.Client, addr string) error {
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: "default", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	if err != nil && !errors.Is(err, context.Canceled) && !isAlreadyExists(err) {
		return fmt.Errorf("registering namespace default at %s: %v", addr, err)
	}
	for range 100 { // registration reaches the frontend's cache in a few seconds
		if _, err := c.DescribeWorkflowExecution(ctx, "none", ""); err != nil && !isNamespaceNotFound(err) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("namespace default did not become usable")
}

func isAlreadyExists(err error) bool {
	var e *serviceerror.NamespaceAlreadyExists
	return errors.As(err, &e)
}

func isNamespaceNotFound(err error) bool {
	var e *serviceerror.NamespaceNotFound
	return errors.As(err, &e)
}

// Quiet is an SDK logger that drops everything.
func Quiet() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}
