// Package devserver runs a Temporal server and the Temporal Web UI inside the
// worker process for local use (worker --dev): SQLite in a data directory, so
// nodes survive a restart, and no Docker or download.
package devserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
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
	Logger    log.Logger
}

// Server is a running dev server.
type Server struct {
	temporal temporal.Server
	ui       *uiserver.Server
	// Address is the frontend's host:port; UIURL the Web UI's URL ("" without UI).
	Address, UIURL string
}

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
	if cfg.Logger == nil {
		cfg.Logger = log.NewNoopLogger()
	}
	if err := portFree(cfg.IP, cfg.Port, "--dev-port"); err != nil {
		return nil, err
	}
	if cfg.UIPort != 0 {
		if err := portFree(cfg.IP, cfg.UIPort, "--ui-port"); err != nil {
			return nil, err
		}
	}
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if cfg.DataDir == "" {
		sqlConf.ConnectAttributes["mode"] = "memory"
		sqlConf.ConnectAttributes["cache"] = "shared"
		sqlConf.DatabaseName = "httpnode-dev-" + strconv.Itoa(os.Getpid())
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("--dev-data-dir: %v", err)
		}
		sqlConf.ConnectAttributes["mode"] = "rwc"
		sqlConf.ConnectAttributes["_journal_mode"] = "WAL"
		sqlConf.DatabaseName = filepath.Join(cfg.DataDir, DatabaseFile)
		if _, err := os.Stat(sqlConf.DatabaseName); errors.Is(err, os.ErrNotExist) {
			if err := sqlite.SetupSchema(sqlConf); err != nil {
				return nil, fmt.Errorf("creating the database schema in %s: %w", sqlConf.DatabaseName, err)
			}
		}
	}
	if cfg.DataDir == "" {
		if err := sqlite.SetupSchema(sqlConf); err != nil {
			return nil, fmt.Errorf("creating the in-memory schema: %w", err)
		}
	}
	conf, err := serverConfig(cfg, sqlConf)
	if err != nil {
		return nil, err
	}
	ns, err := sqlite.NewNamespaceConfig("active", cfg.Namespace, false, nil)
	if err != nil {
		return nil, err
	}
	if err := sqlite.CreateNamespaces(sqlConf, ns); err != nil {
		return nil, fmt.Errorf("creating namespace %q: %w", cfg.Namespace, err)
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(cfg.Logger),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{}),
	)
	if err != nil {
		return nil, fmt.Errorf("configuring the Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("starting the Temporal server: %w", err)
	}
	s := &Server{temporal: srv, Address: net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port))}
	if cfg.UIPort != 0 {
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host: cfg.IP, Port: cfg.UIPort, TemporalGRPCAddress: s.Address,
			EnableUI: true, DefaultNamespace: cfg.Namespace, HideLogs: true,
			CORS: uiconfig.CORS{CookieInsecure: true}, DisableNewsFetch: true,
		}))
		go func() { _ = s.ui.Start() }()
		s.UIURL = fmt.Sprintf("http://%s", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.UIPort)))
	}
	return s, nil
}

// Stop stops the UI and the server.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.temporal.Stop()
}

func serverConfig(cfg Config, sqlConf *config.SQL) (*config.Config, error) {
	frontend := cfg.Port
	ports, err := freePorts(7)
	if err != nil {
		return nil, err
	}
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
			DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlConf}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10, MasterClusterName: "active", CurrentClusterName: "active",
			ClusterInformation: map[string]cluster.ClusterInformation{"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: addr}},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(frontend, ports[0], true),
			"history":  service(ports[1], ports[2], false),
			"matching": service(ports[3], ports[4], false),
			"worker":   service(ports[5], ports[6], false),
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

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
