// Command bench measures httpnode on a real Temporal server and prints a
// table: node throughput against a bare one-activity workflow, history
// events per poll, SendRequest against a bare http.Client, worker memory per
// waiting node, poll lateness, and the latency of a pushed callback against
// polling.
//
//	go run ./bench                          # an in-process server (in memory)
//	go run ./bench --address 127.0.0.1:7233 # an existing server
//	go run ./bench --memory 2000,10000 --lateness 1000
//
// The worker runs in a child process (this binary with --role worker), so
// its memory is measured apart from the server's.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/bench/internal/serverproc"
	"github.com/httpnode/httpnode/internal/devserver"
	"github.com/httpnode/httpnode/workflows"
)

type options struct {
	role, address, namespace, taskQueue string
	nodes, rounds                       int
	memory                              []int
	lateness                            int
	latency                             int
	stickyCache                         int
	latenessFor                         time.Duration
	compare                             string
	// the server-cost scenario
	costNodes, costPolls, costRounds int
	costInterval                     time.Duration
	store                            string
	ways                             []string
	// the heartbeat scenario
	beatIntervals []time.Duration
	beatWatch     time.Duration
}

func main() {
	serverproc.Serve() // the server process of the server-cost scenario
	var o options
	var memory, ways, beats string
	flag.StringVar(&o.role, "role", "bench", "bench, or worker (internal: the measured worker process)")
	flag.StringVar(&o.address, "address", "", "Temporal frontend; empty starts an in-process server")
	flag.StringVar(&o.namespace, "namespace", "default", "namespace")
	flag.StringVar(&o.taskQueue, "task-queue", "bench", "task queue (worker role)")
	flag.IntVar(&o.nodes, "nodes", 300, "workflows per throughput round and kind")
	flag.IntVar(&o.rounds, "rounds", 2, "throughput rounds (bare and node alternate)")
	flag.StringVar(&memory, "memory", "2000", "comma-separated counts of waiting nodes for the memory measurement (0: skip)")
	flag.IntVar(&o.lateness, "lateness", 1000, "nodes polling every 10s for the lateness measurement (0: skip)")
	flag.IntVar(&o.latency, "latency", 20, "nodes of each kind for the pushed-callback latency against polling every 1s (0: skip)")
	flag.IntVar(&o.stickyCache, "sticky-cache-size", 10000, "the worker's sticky workflow cache size (as worker --sticky-cache-size)")
	flag.DurationVar(&o.latenessFor, "lateness-for", 60*time.Second, "how long to watch polls for lateness")
	flag.StringVar(&o.compare, "compare", "", "another bench binary (say, of another commit) whose worker the memory measurement runs side by side with this one's")
	flag.IntVar(&o.costNodes, "server-cost", 0, "nodes per way for the server-cost scenario on a server process (0: skip; when set, only that scenario runs)")
	flag.IntVar(&o.costPolls, "cost-polls", 40, "server-cost scenario: polls per node (the job is done at its last)")
	flag.DurationVar(&o.costInterval, "cost-interval", time.Second, "server-cost scenario: the poll interval")
	flag.IntVar(&o.costRounds, "cost-rounds", 2, "server-cost scenario: rounds of every way, their order alternating")
	flag.StringVar(&o.store, "store", "sqlite", "server-cost scenario: the server process's store, sqlite (a file) or postgres (Debian's package, started here)")
	flag.StringVar(&ways, "ways", strings.Join(costWays, ","), "server-cost scenario: the ways to measure")
	flag.StringVar(&beats, "heartbeats", "", "the heartbeat scenario: comma-separated poll intervals of activity-mode waits, e.g. 1s,30s,5m (when set, only that scenario runs)")
	flag.DurationVar(&o.beatWatch, "heartbeat-watch", 6*time.Minute, "heartbeat scenario: how long describe is read before the worker is killed")
	flag.Parse()
	for _, f := range strings.Split(beats, ",") {
		if f = strings.TrimSpace(f); f != "" {
			d, err := time.ParseDuration(f)
			if err != nil || d < time.Second {
				fmt.Fprintf(os.Stderr, "bench: --heartbeats: %q is not an interval of 1s or more (e.g. 30s)\n", f)
				os.Exit(2)
			}
			o.beatIntervals = append(o.beatIntervals, d)
		}
	}
	for _, w := range strings.Split(ways, ",") {
		if w = strings.TrimSpace(w); w != "" {
			if !slices.Contains(costWays, w) {
				fmt.Fprintf(os.Stderr, "bench: --ways: %q is not one of %s\n", w, strings.Join(costWays, ", "))
				os.Exit(2)
			}
			o.ways = append(o.ways, w)
		}
	}
	for _, f := range strings.Split(memory, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			o.memory = append(o.memory, n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.role == "worker" {
		err = runWorker(ctx, o)
	} else {
		err = runBench(ctx, o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// runWorker is the measured worker: the node's registration plus the bare
// workflow, until the parent closes stdin.
func runWorker(ctx context.Context, o options) error {
	if strings.HasPrefix(o.taskQueue, "bench-memory") {
		runtime.MemProfileRate = 4096 // a heap profile detailed enough to read per node (it slows allocation: memory runs only)
	}
	c, err := client.Dial(client.Options{HostPort: o.address, Namespace: o.namespace, Logger: serverproc.Quiet()})
	if err != nil {
		return err
	}
	defer c.Close()
	worker.SetStickyWorkflowCacheSize(o.stickyCache)
	w, waits := workflows.NewWorkers(c, o.taskQueue, worker.Options{}, activities.New(nil, loopbackOnly), 5000)
	if err := waits.Start(); err != nil {
		return err
	}
	defer waits.Stop()
	registerBare(w)
	registerCostBaselines(w, c)
	if err := w.Start(); err != nil {
		return err
	}
	fmt.Println("ready")
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stopSelf() }()
	// SIGUSR1: collect garbage and return it to the OS, so RSS is measured
	// after a GC (which also shrinks goroutine stacks), not before one.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			for range 3 { // a GC halves an idle goroutine's oversized stack: let it reach its size
				debug.FreeOSMemory()
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(os.Stderr, "  worker %s: heap in use %d MB, stacks %d MB, goroutines %d\n", o.taskQueue, ms.HeapInuse>>20, ms.StackInuse>>20, runtime.NumGoroutine())
			fmt.Printf("stats %d %d %d %d\n", rssKB(os.Getpid()), ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()) // read by the parent
			if f, err := os.Create(fmt.Sprintf("/tmp/bench-heap-%s.pprof", o.taskQueue)); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
			if f, err := os.Create(fmt.Sprintf("/tmp/bench-goroutines-%s.txt", o.taskQueue)); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(f, 1)
				_ = f.Close()
			}
		}
	}()
	<-ctx.Done()
	w.Stop()
	return nil
}

func stopSelf() { _ = syscall.Kill(os.Getpid(), syscall.SIGTERM) }

// child is a worker process on its own task queue.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startWorker starts bin (this binary when empty) as the measured worker.
func startWorker(o options, bin, taskQueue string) (*child, error) {
	if bin == "" {
		bin = os.Args[0]
	}
	cmd := exec.Command(bin, "--role", "worker", "--address", o.address, "--namespace", o.namespace, "--task-queue", taskQueue,
		"--sticky-cache-size", strconv.Itoa(o.stickyCache))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := bufio.NewReader(out)
	if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
		return nil, fmt.Errorf("worker process did not start: %v", err)
	}
	return &child{cmd: cmd, stdin: stdin, out: r}, nil
}

// workerStats is what a worker uses after a GC: RSS in KB, heap and
// goroutine stacks in use in bytes, and its goroutines (a waiting
// workflow in the cache has one).
type workerStats struct{ rss, heap, stack, goroutines int64 }

// stats asks the worker to collect garbage and report what it uses.
func (c *child) stats() workerStats {
	_ = c.cmd.Process.Signal(syscall.SIGUSR1)
	var s workerStats
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			return s
		}
		if _, err := fmt.Sscanf(line, "stats %d %d %d %d", &s.rss, &s.heap, &s.stack, &s.goroutines); err == nil {
			return s
		}
	}
}

// rssKB is a process's resident set size in KB.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func (c *child) stop() {
	_ = c.stdin.Close()
	_ = c.cmd.Wait()
}

func runBench(ctx context.Context, o options, out io.Writer) error {
	if o.costNodes > 0 || len(o.beatIntervals) > 0 {
		t := &table{}
		scenario := serverCost
		if len(o.beatIntervals) > 0 {
			scenario = heartbeatCadence
		}
		if err := scenario(ctx, o, t); err != nil {
			return err
		}
		t.print(out)
		return nil
	}
	if o.address == "" {
		port, err := serverproc.FreePort()
		if err != nil {
			return err
		}
		srv, err := devserver.Start(devserver.Config{Port: port, Namespace: o.namespace, Logger: zerolog.Nop()})
		if err != nil {
			return err
		}
		defer srv.Stop()
		o.address = srv.Address
		fmt.Fprintf(os.Stderr, "in-process Temporal server on %s (in memory)\n", o.address)
	}
	c, err := client.Dial(client.Options{HostPort: o.address, Namespace: o.namespace, Logger: serverproc.Quiet()})
	if err != nil {
		return err
	}
	defer c.Close()
	t := &table{}
	for _, step := range []func(context.Context, client.Client, options, *table) error{throughput, historyEvents, requestCost, memory, lateness, callbackLatency} {
		if err := step(ctx, c, o, t); err != nil {
			return err
		}
	}
	t.print(out)
	return nil
}

// table collects result rows: what, value, and how it compares.
type table struct{ rows [][3]string }

func (t *table) add(what, value, note string) {
	t.rows = append(t.rows, [3]string{what, value, note})
	fmt.Fprintf(os.Stderr, "  %s: %s %s\n", what, value, note)
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tvalue\tnote")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	_ = tw.Flush()
}

// serve runs h on a loopback port until ctx ends and returns its URL.
func serve(ctx context.Context, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return "http://" + l.Addr().String(), nil
}
