// Package devserver runs a Temporal server and the Temporal Web UI inside the
// worker process for local use (worker --dev): SQLite in a data directory, so
// nodes survive a restart, and no Docker or download.
package devserver

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Config says where the dev server listens and keeps its data.
type Config struct {
	IP        string // default 127.0.0.1
	Port      int    // frontend gRPC port, default 7233
	UIPort    int    // Web UI port; 0 disables the UI
	DataDir   string // SQLite lives here; "" keeps everything in memory
	Namespace string // created at start, default "default"
	Logger    zerolog.Logger
	// CodecEndpoint, when set, is the codec server the Web UI decodes
	// encrypted payloads with.
	CodecEndpoint string
	// Store and VisibilityStore, when set, replace SQLite with another SQL
	// store (PostgreSQL, say: the chaos run's). Their schemas must exist;
	// DataDir is not used, and the caller registers the namespace.
	Store, VisibilityStore *config.SQL
}

// Server is a running dev server.
type Server struct {
	quiet    atomic.Bool
	temporal temporal.Server
	ui       *uiserver.Server
	// Address is the frontend's host:port; UIURL the Web UI's URL ("" without UI).
	Address, UIURL string
}

var memoryDBs atomic.Int64

// DatabaseFile is the SQLite file's name inside the data directory.
const DatabaseFile = "temporal.db"

// Start starts the server and, unless UIPort is 0, the Web UI. Ports are
// checked first, so a taken port is an error rather than a panic.
func Start(cfg Config) (*Server, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = 7233
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	// Fixed ports (the frontend's and the next few) keep the server's
	// membership identity across restarts: with fresh ports a restarted
	// server waits for its previous incarnation to expire (~1 minute).
	for _, p := range servicePorts(cfg.Port) {
		if err := portFree(cfg.IP, p, "--dev-port"); err != nil {
			return nil, err
		}
	}
	if cfg.UIPort != 0 {
		if err := portFree(cfg.IP, cfg.UIPort, "--ui-port"); err != nil {
			return nil, err
		}
	}
	if cfg.Store != nil {
		return start(cfg, cfg.Store, cfg.VisibilityStore)
	}
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if cfg.DataDir == "" {
		sqlConf.ConnectAttributes["mode"] = "memory"
		sqlConf.ConnectAttributes["cache"] = "shared"
		// the SQLite plugin creates the schema of an in-memory database itself
		sqlConf.DatabaseName = fmt.Sprintf("httpnode-dev-%d-%d", os.Getpid(), memoryDBs.Add(1))
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("--dev-data-dir: %v", err)
		}
		sqlConf.ConnectAttributes["mode"] = "rwc"
		sqlConf.DatabaseName = filepath.Join(cfg.DataDir, DatabaseFile)
		if err := ensureSchema(sqlConf); err != nil {
			return nil, err
		}
	}
	ns, err := sqlite.NewNamespaceConfig("active", cfg.Namespace, false, nil)
	if err != nil {
		return nil, err
	}
	if err := sqlite.CreateNamespaces(sqlConf, ns); err != nil {
		return nil, fmt.Errorf("creating namespace %q: %w", cfg.Namespace, err)
	}
	return start(cfg, sqlConf, sqlConf)
}

// start starts the server on the stores and, unless UIPort is 0, the UI.
func start(cfg Config, store, visibility *config.SQL) (*Server, error) {
	conf, err := serverConfig(cfg, store, visibility)
	if err != nil {
		return nil, err
	}
	s := &Server{Address: net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port))}
	s.quiet.Store(true) // until Ready: a starting server reports "not healthy yet" as errors
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(Logger{L: cfg.Logger, Quiet: &s.quiet}),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{}),
	)
	if err != nil {
		return nil, fmt.Errorf("configuring the Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("starting the Temporal server: %w", err)
	}
	s.temporal = srv
	if cfg.UIPort != 0 {
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host: cfg.IP, Port: cfg.UIPort, TemporalGRPCAddress: s.Address,
			EnableUI: true, DefaultNamespace: cfg.Namespace, HideLogs: true,
			CORS: uiconfig.CORS{CookieInsecure: true}, DisableNewsFetch: true,
			Codec: uiconfig.Codec{Endpoint: cfg.CodecEndpoint},
		}))
		go func() { _ = s.ui.Start() }()
		s.UIURL = fmt.Sprintf("http://%s", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.UIPort)))
	}
	return s, nil
}

// ensureSchema creates the database file with its schema unless it exists.
// The schema goes into a temporary file first, so an interrupted start never
// leaves a file without tables behind.
func ensureSchema(conf *config.SQL) error {
	final := conf.DatabaseName
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	tmp := final + ".new"
	_ = os.Remove(tmp)
	tmpConf := *conf
	tmpConf.DatabaseName = tmp
	if err := sqlite.SetupSchema(&tmpConf); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("creating the database schema in %s: %w", final, err)
	}
	return os.Rename(tmp, final)
}

// Ready turns the server's error log on, once a client has connected.
func (s *Server) Ready() { s.quiet.Store(false) }

// Stop stops the UI and the server.
func (s *Server) Stop() {
	s.quiet.Store(true)
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.temporal.Stop()
}

// servicePorts are the gRPC ports of frontend, history, matching and worker,
// then their membership ports.
func servicePorts(frontend int) []int {
	return []int{frontend, frontend + 1, frontend + 2, frontend + 3, frontend + 10, frontend + 11, frontend + 12, frontend + 13}
}

func serverConfig(cfg Config, store, visibility *config.SQL) (*config.Config, error) {
	frontend := cfg.Port
	ports := servicePorts(frontend)
	service := func(grpc, membership int, bindIP bool) config.Service {
		rpc := config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnLocalHost: true}
		if bindIP {
			rpc.BindOnLocalHost, rpc.BindOnIP = false, cfg.IP
		}
		return config.Service{RPC: rpc}
	}
	addr := net.JoinHostPort(cfg.IP, strconv.Itoa(frontend))
	return &config.Config{
		Global: config.Global{Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"}},
		Persistence: config.Persistence{
			DefaultStore: "default", VisibilityStore: "visibility", NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{"default": {SQL: store}, "visibility": {SQL: visibility}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10, MasterClusterName: "active", CurrentClusterName: "active",
			ClusterInformation: map[string]cluster.ClusterInformation{"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: addr}},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(ports[0], ports[4], true),
			"history":  service(ports[1], ports[5], false),
			"matching": service(ports[2], ports[6], false),
			"worker":   service(ports[3], ports[7], false),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: addr},
	}, nil
}

func portFree(ip string, port int, flag string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d on %s is taken (is another Temporal server or worker --dev running? stop it or choose another %s)", port, ip, flag)
	}
	return l.Close()
}
