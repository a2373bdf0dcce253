// Command chaos runs HTTP nodes through worker and server kills and checks
// that the durable core holds: a Temporal server as its own process with a
// persistent store (SQLite file by default; PostgreSQL from Debian's package
// with --store postgres, started and stopped here), worker processes of the
// production build, and the demo job service recording every delivery.
// Workers are killed (SIGKILL, some SIGTERM) and restarted, and the server
// is killed and restarted, on a bounded schedule; then every node must be
// terminal, its outcome the job service's, one idempotency key per node
// attempt, no more main requests than tries, one webhook-id per node's
// notifications, no panic in any log. It prints a table and exits 1 when an
// invariant breaks.
//
//	go run ./bench/chaos                                   # the short run of .ci/run
//	go run ./bench/chaos --nodes 240 --worker-kills 24 --server-kills 3 --duration 6m --store postgres
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
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
	"github.com/httpnode/httpnode/internal/webhook"
	"github.com/httpnode/httpnode/workflows"
)

type options struct {
	role                  string
	nodes, workers        int
	workerKills           int
	serverKills           int
	duration, wait        time.Duration
	store, dir, workerBin string
	seed                  uint64
	requestDelay          time.Duration
	port, pgPort          int
	dataDir               string
}

const notifySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func main() {
	var o options
	flag.StringVar(&o.role, "role", "run", "run, or server (internal: the Temporal server process)")
	flag.IntVar(&o.nodes, "nodes", 60, "nodes to run")
	flag.IntVar(&o.workers, "workers", 3, "worker processes")
	flag.IntVar(&o.workerKills, "worker-kills", 8, "worker kills (and restarts) during the run")
	flag.IntVar(&o.serverKills, "server-kills", 1, "server kills (and restarts) during the run")
	flag.DurationVar(&o.duration, "duration", 100*time.Second, "how long nodes start and kills happen")
	flag.DurationVar(&o.wait, "wait", 4*time.Minute, "how long to wait, after that, for every node to end")
	flag.StringVar(&o.store, "store", "sqlite", "the server's store: sqlite (a file) or postgres (Debian's package, started here)")
	flag.StringVar(&o.dir, "dir", "", "where logs and the store go (default: a temporary directory, removed when every invariant holds)")
	flag.StringVar(&o.workerBin, "worker-bin", "", "a worker binary to run (default: build the production worker, -tags nodev)")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "seed of the node plan and the kill schedule")
	flag.DurationVar(&o.requestDelay, "request-delay", time.Second, "the job service holds each main request up to this long (drawn per request), so kills find requests in flight")
	flag.IntVar(&o.port, "port", 0, "server role: the frontend port")
	flag.IntVar(&o.pgPort, "pg-port", 0, "server role: PostgreSQL's port (0: SQLite in --data-dir)")
	flag.StringVar(&o.dataDir, "data-dir", "", "server role: the SQLite directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.role == "server" {
		err = runServer(ctx, o)
	} else {
		err = runChaos(ctx, o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func quiet() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// runServer is the server process: the embedded Temporal server on the
// store, until SIGTERM (or SIGKILL, which is the point).
func runServer(ctx context.Context, o options) error {
	cfg := devserver.Config{Port: o.port, DataDir: o.dataDir, Logger: zerolog.New(os.Stderr).Level(zerolog.WarnLevel)}
	if o.pgPort != 0 {
		cfg.Store, cfg.VisibilityStore = pgStores(o.pgPort)
	}
	srv, err := devserver.Start(cfg)
	if err != nil {
		return err
	}
	srv.Ready()
	<-ctx.Done()
	srv.Stop()
	return nil
}

// planned is one node of the run and what the job service will make of it.
type planned struct {
	id, kind, outcome string
	seconds           int
	run               client.WorkflowRun
	startedAt         time.Time
}

func runChaos(ctx context.Context, o options, out io.Writer) (err error) {
	rng := rand.New(rand.NewPCG(o.seed, 1))
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "httpnode-chaos-"); err != nil {
			return err
		}
		defer func() {
			if err == nil {
				_ = os.RemoveAll(dir)
			} else {
				fmt.Fprintln(os.Stderr, "chaos: logs and store kept in", dir)
			}
		}()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// the job service, recording every delivery
	rec := newRecorder()
	rec.delay = o.requestDelay
	secret, _ := webhook.ParseSecret(notifySecret)
	rec.jobs.NotifySecrets = []webhook.Secret{secret}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	jobsURL := "http://" + l.Addr().String()
	go func() { _ = http.Serve(l, rec.handler()) }()
	defer rec.jobs.Close()

	// the store and the server
	port, err := freePort()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	serverArgs := []string{self, "--role", "server", "--port", strconv.Itoa(port)}
	switch o.store {
	case "sqlite":
		serverArgs = append(serverArgs, "--data-dir", filepath.Join(dir, "sqlite"))
	case "postgres":
		pg, err := startPostgres(dir)
		if err != nil {
			return err
		}
		defer pg.stop()
		serverArgs = append(serverArgs, "--pg-port", strconv.Itoa(pg.port))
	default:
		return fmt.Errorf("--store %q: use sqlite or postgres", o.store)
	}
	server := &proc{name: "server", args: serverArgs, log: filepath.Join(dir, "server.log")}
	if err := server.start(); err != nil {
		return err
	}
	defer server.kill(syscall.SIGTERM)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c, err := waitServer(ctx, addr, 2*time.Minute)
	if err != nil {
		return err
	}
	defer c.Close()
	if o.store == "postgres" {
		if err := registerNamespace(ctx, c, addr); err != nil {
			return err
		}
	}

	// the workers
	bin := o.workerBin
	if bin == "" {
		if bin, err = buildWorker(dir); err != nil {
			return err
		}
	}
	workers := make([]*proc, o.workers)
	for i := range workers {
		workers[i] = &proc{name: fmt.Sprint("worker-", i), log: filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)),
			args: []string{bin, "--address", addr, "--task-queue", "chaos", "--egress-allow", "127.0.0.0/8", "--stop-timeout", "5s",
				"--connect-timeout", "2m", "--log-level", "warn"},
			env: []string{"HTTPNODE_SECRET_NOTIFY=" + notifySecret, "HTTPNODE_SECRET_NOTIFY_HOSTS=http://127.0.0.1:*"}}
		if err := workers[i].start(); err != nil {
			return err
		}
		defer workers[i].kill(syscall.SIGTERM)
	}

	// the nodes, started over the first 60% of the run, and the kills
	began := time.Now()
	nodes := plan(o, rng, began)
	startErr := make(chan error, 1)
	go func() { startErr <- startNodes(ctx, c, nodes, jobsURL, o.duration*6/10) }()
	kills := killSchedule(ctx, o, rng, workers, server)
	if err := <-startErr; err != nil {
		return err
	}
	<-kills.done

	// the verdict
	ctx, cancel := context.WithTimeout(ctx, o.wait)
	defer cancel()
	return report(ctx, out, o, c, nodes, rec, kills, dir, time.Since(began))
}

// plan draws the nodes: half poll on timers, a quarter in an activity, a
// quarter a 202's Location; one in five jobs fails.
func plan(o options, rng *rand.Rand, at time.Time) []*planned {
	kinds := []string{"timer", "timer", "activity", "location"}
	nodes := make([]*planned, o.nodes)
	for i := range nodes {
		n := &planned{id: fmt.Sprintf("chaos-%d-%03d", at.Unix(), i), kind: kinds[i%len(kinds)], seconds: 2 + rng.IntN(14), outcome: "SUCCESS"}
		if rng.IntN(5) == 0 {
			n.outcome = "FAILED"
		}
		nodes[i] = n
	}
	return nodes
}

func (n *planned) node(jobsURL string) json.RawMessage {
	body := fmt.Sprintf(`{"seconds": %d, "outcome": %q}`, n.seconds, n.outcome)
	request := fmt.Sprintf(`"request": {"method": "POST", "url": "%s/jobs", "headers": {"X-Node": "${workflowId}"}, "body": %s}`, jobsURL, body)
	callback := fmt.Sprintf(`"callback": {"url": "%s/status", "interval": "1s"%s}`, jobsURL, map[string]string{"activity": `, "mode": "activity"`}[n.kind])
	if n.kind == "location" {
		request = fmt.Sprintf(`"request": {"method": "POST", "url": "%s/async-jobs", "headers": {"X-Node": "${workflowId}"}, "body": %s}`, jobsURL, body)
		callback = `"callback": {"mode": "location", "interval": "1s"}`
	}
	return json.RawMessage(fmt.Sprintf(`{"name": %q, %s, %s,
		"notify": {"url": "%s/notifications", "sign": {"secrets": ["${secret.NOTIFY}"]}},
		"retry": {"count": 0}, "timeout": "10m", "onFailure": "continue"}`, n.id, request, callback, jobsURL))
}

func startNodes(ctx context.Context, c client.Client, nodes []*planned, jobsURL string, over time.Duration) error {
	every := over / time.Duration(max(len(nodes), 1))
	for _, n := range nodes {
		var err error
		for try := 0; try < 120; try++ { // the server may be down: a kill
			n.run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: n.id, TaskQueue: "chaos"}, workflows.HTTPNodeName, n.node(jobsURL))
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("starting %s: %v", n.id, err)
		}
		n.startedAt = time.Now()
		time.Sleep(every)
	}
	return nil
}

// kills is the kill schedule's record.
type kills struct {
	done             chan struct{}
	sigkill, sigterm int
	server           int
}

// killSchedule kills (and restarts) workers and the server at even
// intervals over the run, in a random order.
func killSchedule(ctx context.Context, o options, rng *rand.Rand, workers []*proc, server *proc) *kills {
	k := &kills{done: make(chan struct{})}
	events := make([]string, 0, o.workerKills+o.serverKills)
	for range o.workerKills {
		events = append(events, "worker")
	}
	for i := range o.serverKills {
		// servers at even places among the workers'
		at := (i + 1) * len(events) / (o.serverKills + 1)
		events = slices.Insert(events, at, "server")
	}
	go func() {
		defer close(k.done)
		every := o.duration / time.Duration(len(events)+1)
		for _, e := range events {
			select {
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
			if e == "server" {
				server.kill(syscall.SIGKILL)
				k.server++
				_ = server.start()
				continue
			}
			w := workers[rng.IntN(len(workers))]
			if rng.IntN(3) == 0 {
				w.kill(syscall.SIGTERM)
				k.sigterm++
			} else {
				w.kill(syscall.SIGKILL)
				k.sigkill++
			}
			_ = w.start()
		}
	}()
	return k
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
