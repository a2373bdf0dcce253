// Command worker runs the HTTP node worker: it polls the http-node task queue
// of a Temporal server and runs HTTPNode workflows and their activities.
//
//	go run ./worker --dev          # with an embedded Temporal server and Web UI
//	go run ./worker                # against TEMPORAL_ADDRESS (default 127.0.0.1:7233)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // time zones in images without the system's zoneinfo

	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/conn"
	"github.com/httpnode/httpnode/internal/flagenv"
	"github.com/httpnode/httpnode/internal/logging"
	"github.com/httpnode/httpnode/internal/outbound"
	"github.com/httpnode/httpnode/workflows"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitUnreachable = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(probe(os.Args[2:], os.Stderr))
	}
	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

type config struct {
	conn             conn.Options
	outbound         outbound.Options
	taskQueue        string
	maxActivities    int
	maxWaits         int
	defaultWaitMode  string
	maxWorkflowTasks int
	stopTimeout      time.Duration
	logLevel         string
	logFormat        string
	secrets          secretConfig
	paramsFile       string
	timeZone         string
	healthAddr       string
	readinessGrace   time.Duration
	stickyCache      int
	devReady         func() // set by --dev: the embedded server's log goes on once connected
	dev              devConfig
	codec            codecConfig
	callbacks        callbackConfig
	bodies           bodiesConfig
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.conn.Register(fs)
	c.outbound.Register(fs)
	fs.StringVar(&c.taskQueue, "task-queue", workflows.TaskQueue, "task queue to poll (HTTPNODE_TASK_QUEUE)")
	fs.IntVar(&c.maxActivities, "max-concurrent-activities", 200, "requests and polls in flight at once (HTTPNODE_MAX_CONCURRENT_ACTIVITIES)")
	fs.IntVar(&c.maxWaits, "max-concurrent-waits", 5000, "activity-mode waits at once, on their own task queue <task-queue>-waits, apart from --max-concurrent-activities (HTTPNODE_MAX_CONCURRENT_WAITS)")
	fs.StringVar(&c.defaultWaitMode, "default-wait-mode", httpnode.ModeTimer, httpnode.DefaultWaitModeUsage)
	fs.IntVar(&c.maxWorkflowTasks, "max-concurrent-workflow-tasks", 100, "workflow tasks at once (HTTPNODE_MAX_CONCURRENT_WORKFLOW_TASKS)")
	fs.DurationVar(&c.stopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long in-flight requests may finish (HTTPNODE_STOP_TIMEOUT)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error (HTTPNODE_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or console (HTTPNODE_LOG_FORMAT)")
	c.secrets.register(fs)
	fs.StringVar(&c.paramsFile, "params-file", "", "global parameters, a JSON object of strings; HTTPNODE_PARAM_<name> variables add to it (HTTPNODE_PARAMS_FILE)")
	fs.StringVar(&c.timeZone, "time-zone", "UTC", "default time zone of time macros such as ${yyyyMMdd} (HTTPNODE_TIME_ZONE)")
	fs.IntVar(&c.stickyCache, "sticky-cache-size", 10000, "workflows kept in memory between tasks; fewer saves memory per waiting node, at the cost of replaying history when a timer fires (HTTPNODE_STICKY_CACHE_SIZE)")
	fs.StringVar(&c.healthAddr, "health-addr", "", "serve /healthz (liveness) and /readyz (readiness: polling, and the Temporal server answering) here, e.g. :8080 (HTTPNODE_HEALTH_ADDR)")
	fs.DurationVar(&c.readinessGrace, "readiness-grace", DefaultReadinessGrace, "how long the Temporal server may not answer before /readyz says not ready (HTTPNODE_READINESS_GRACE)")
	c.dev.register(fs)
	c.codec.register(fs)
	c.callbacks.register(fs)
	c.bodies.register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := flagenv.Apply(fs); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (the worker takes flags only; see --help)", fs.Arg(0))
	}
	if c.readinessGrace <= 0 {
		return c, errors.New("--readiness-grace must be positive (e.g. 15s)")
	}
	if err := httpnode.CheckDefaultWaitMode(c.defaultWaitMode); err != nil {
		return c, fmt.Errorf("--default-wait-mode: %v", err)
	}
	if err := c.bodies.check(); err != nil {
		return c, err
	}
	if c.maxActivities < 1 || c.maxWaits < 1 || c.maxWorkflowTasks < 1 || c.stickyCache < 1 {
		return c, errors.New("--max-concurrent-activities, --max-concurrent-waits, --max-concurrent-workflow-tasks and --sticky-cache-size must be at least 1")
	}
	return c, nil
}

// run runs the worker until ctx is done and returns the exit code. ready, if
// set, is called once the worker polls.
func run(ctx context.Context, args []string, stderr io.Writer, ready func()) int {
	cfg, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "worker:", err)
		return exitUsage
	}
	logger, err := logging.New(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return exitUsage
	}
	acts, err := newActivities(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return exitUsage
	}
	egressLog := logger.Info().Str("policy", acts.Clients.Policy().String())
	if cfg.dev.enabled {
		egressLog = egressLog.Str("dev", "loopback allowed for the demo")
	}
	egressLog.Msg("egress policy")
	logSecrets(logger, acts.Secrets)
	cbs, err := setupCallbacks(cfg, cfg.conn.Keys())
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return exitUsage
	}
	if cbs != nil {
		acts.Callbacks = cbs.minter
	}
	cd, err := cfg.conn.Codec()
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return exitUsage
	}
	bodies, err := openBodies(ctx, cfg, cd, logger)
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return exitUsage
	}
	if bodies != nil {
		defer bodies.Close()
		acts.Bodies = bodies
	}
	cs, err := startCodecServer(cfg, cd, cfg.conn.Keys(), logger)
	if err != nil {
		logger.Error().Msg(err.Error())
		return exitUsage
	}
	if cs != nil {
		defer cs.stop()
		cfg.dev.codecEndpoint = cs.UIEndpoint
	}
	hs, err := startHealth(cfg.healthAddr, cfg.readinessGrace)
	if err != nil {
		logger.Error().Err(err).Msg("cannot serve health checks")
		return exitUsage
	}
	defer hs.stop()
	if cfg.dev.enabled {
		stopDev, err := startDev(ctx, &cfg, logger)
		if err != nil {
			logger.Error().Err(err).Msg("cannot start the embedded Temporal server")
			return exitFailure
		}
		defer stopDev()
	}
	c, err := cfg.conn.Dial(ctx, logging.SDK{L: logger})
	if err != nil {
		logger.Error().Msg(err.Error())
		return exitUnreachable
	}
	defer c.Close()
	if cfg.devReady != nil {
		cfg.devReady()
	}
	if cbs != nil {
		stopCallbacks, err := cbs.start(c, logger)
		if err != nil {
			logger.Error().Msg(err.Error())
			return exitUsage
		}
		defer stopCallbacks()
	}
	acts.StuckAttribute = activities.HasStuckAttribute(ctx, c, cfg.conn.Namespace)
	worker.SetStickyWorkflowCacheSize(cfg.stickyCache)
	w, waits := workflows.NewWorkers(c, cfg.taskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize:     cfg.maxActivities,
		MaxConcurrentWorkflowTaskExecutionSize: cfg.maxWorkflowTasks,
		WorkerStopTimeout:                      cfg.stopTimeout,
	}, acts, cfg.maxWaits)
	if err := waits.Start(); err != nil {
		logger.Error().Err(err).Msg("worker did not start")
		return exitFailure
	}
	defer waits.Stop()
	if err := w.Start(); err != nil {
		logger.Error().Err(err).Msg("worker did not start")
		return exitFailure
	}
	logger.Info().Str("address", cfg.conn.Address).Str("namespace", cfg.conn.Namespace).
		Str("taskQueue", cfg.taskQueue).Str("waitsTaskQueue", workflows.WaitsQueue(cfg.taskQueue)).Str("defaultWaitMode", cfg.defaultWaitMode).Bool("stuckSearchAttribute", acts.StuckAttribute).Msg("worker started")
	hs.start(ctx, c)
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	hs.polling.Store(false)
	logger.Info().Dur("stopTimeout", cfg.stopTimeout).Msg("stopping: letting in-flight requests finish")
	w.Stop()
	logger.Info().Msg("worker stopped")
	return exitOK
}

// newActivities builds the activities with the node secrets, global
// parameters and time zone.
func newActivities(cfg config) (*activities.Activities, error) {
	clients, err := cfg.outbound.Config(cfg.dev.enabled)
	if err != nil {
		return nil, err
	}
	keys, err := workerKeys(cfg)
	if err != nil {
		return nil, err
	}
	nodes, err := nodeSecrets(cfg, keys)
	if err != nil {
		return nil, err
	}
	a := activities.New(nodes, clients)
	params, err := activities.LoadParams(cfg.paramsFile, os.Environ())
	if err != nil {
		return nil, err
	}
	zone, err := time.LoadLocation(cfg.timeZone)
	if err != nil {
		return nil, fmt.Errorf("--time-zone: %q is not a time zone (use an IANA name such as \"Europe/Berlin\")", cfg.timeZone)
	}
	a.Params, a.Zone, a.DefaultWaitMode = params, zone, cfg.defaultWaitMode
	return a, nil
}
