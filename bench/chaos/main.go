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
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/httpnode/httpnode/bench/internal/serverproc"
	"github.com/httpnode/httpnode/internal/webhook"
	"github.com/httpnode/httpnode/workflows"
)

type options struct {
	nodes, workers        int
	workerKills           int
	serverKills           int
	duration, wait        time.Duration
	store, dir, workerBin string
	seed                  uint64
	requestDelay          time.Duration
}

const notifySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func main() {
	serverproc.Serve()
	var o options
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
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runChaos(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
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
	server, err := serverproc.Start(ctx, dir, o.store)
	if err != nil {
		return err
	}
	defer server.Stop()
	c, addr := server.Client, server.Addr

	// the workers
	bin := o.workerBin
	if bin == "" {
		if bin, err = serverproc.BuildWorker(dir); err != nil {
			return err
		}
	}
	workers := make([]*serverproc.Proc, o.workers)
	for i := range workers {
		workers[i] = &serverproc.Proc{Name: fmt.Sprint("worker-", i), Log: filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)),
			Args: []string{bin, "--address", addr, "--task-queue", "chaos", "--egress-allow", "127.0.0.0/8", "--stop-timeout", "5s",
				"--connect-timeout", "2m", "--log-level", "warn", "--default-wait-mode", "auto"},
			Env: []string{"HTTPNODE_SECRET_NOTIFY=" + notifySecret, "HTTPNODE_SECRET_NOTIFY_HOSTS=http://127.0.0.1:*"}}
		if err := workers[i].Start(); err != nil {
			return err
		}
		defer workers[i].Kill(syscall.SIGTERM)
	}

	// the nodes, started over the first 60% of the run, and the kills
	began := time.Now()
	nodes := plan(o, rng, began)
	startErr := make(chan error, 1)
	go func() { startErr <- startNodes(ctx, c, nodes, jobsURL, o.duration*6/10) }()
	kills := killSchedule(ctx, o, rng, workers, server.Proc)
	if err := <-startErr; err != nil {
		return err
	}
	<-kills.done

	// the verdict
	ctx, cancel := context.WithTimeout(ctx, o.wait)
	defer cancel()
	return report(ctx, out, o, c, nodes, rec, kills, dir, time.Since(began))
}

// plan draws the nodes: two in six poll on timers, one in an activity,
// one by an activity's retries, one a 202's Location, and one names no
// mode and waits the workers' default (--default-wait-mode auto: activity
// mode at its 1 s interval, the mode recorded with its main response);
// one in five jobs fails.
func plan(o options, rng *rand.Rand, at time.Time) []*planned {
	kinds := []string{"timer", "timer", "activity", "retry", "location", "default"}
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
	callback := fmt.Sprintf(`"callback": {"url": "%s/status", "interval": "1s"%s}`, jobsURL, map[string]string{"timer": `, "mode": "timer"`, "activity": `, "mode": "activity"`, "retry": `, "mode": "retry"`}[n.kind])
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
func killSchedule(ctx context.Context, o options, rng *rand.Rand, workers []*serverproc.Proc, server *serverproc.Proc) *kills {
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
				server.Kill(syscall.SIGKILL)
				k.server++
				_ = server.Start()
				continue
			}
			w := workers[rng.IntN(len(workers))]
			if rng.IntN(3) == 0 {
				w.Kill(syscall.SIGTERM)
				k.sigterm++
			} else {
				w.Kill(syscall.SIGKILL)
				k.sigkill++
			}
			_ = w.Start()
		}
	}()
	return k
}
