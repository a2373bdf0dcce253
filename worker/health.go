package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
)

// health serves /healthz (liveness: the process is up) and /readyz
// (readiness: the worker polls its task queue and the Temporal server
// answered its health check within the grace period; 503 before start,
// while stopping, and once the server has been unreachable longer than the
// grace period) for probes.
type health struct {
	polling atomic.Bool
	lastOK  atomic.Int64 // Unix nanoseconds of the server's last answer
	grace   time.Duration
	stopS   func()
}

// DefaultReadinessGrace is how long the server may not answer before the
// worker reports itself not ready (--readiness-grace).
const DefaultReadinessGrace = 15 * time.Second

func startHealth(addr string, grace time.Duration) (*health, error) {
	h := &health{stopS: func() {}, grace: grace}
	if addr == "" {
		return h, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := h.ready(time.Now()); !ok {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	stop, _, err := serve(addr, "--health-addr", mux)
	if err != nil {
		return nil, err
	}
	h.stopS = stop
	return h, nil
}

// ready says whether the worker is ready at now, and why not.
func (h *health) ready(now time.Time) (bool, string) {
	if !h.polling.Load() {
		return false, "the worker is not polling its task queue (starting or stopping)"
	}
	if silent := now.Sub(time.Unix(0, h.lastOK.Load())); silent > h.grace {
		return false, fmt.Sprintf("the Temporal server has not answered for %s", silent.Round(time.Second))
	}
	return true, ""
}

// start marks the worker polling and checks the server's health every
// grace/3 until ctx is done.
func (h *health) start(ctx context.Context, c client.Client) {
	h.lastOK.Store(time.Now().UnixNano())
	h.polling.Store(true)
	every := max(h.grace/3, 500*time.Millisecond)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cctx, cancel := context.WithTimeout(ctx, every)
			if _, err := c.CheckHealth(cctx, &client.CheckHealthRequest{}); err == nil {
				h.lastOK.Store(time.Now().UnixNano())
			}
			cancel()
		}
	}()
}

func (h *health) stop() {
	h.polling.Store(false)
	h.stopS()
}

// serve serves h on addr until stop is called; flag names the setting in
// errors. It returns the address listened on (addr may have port 0).
func serve(addr, flag string, h http.Handler) (stop func(), bound string, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %v", flag, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, l.Addr().String(), nil
}

// probe is "worker probe URL": a GET that exits 0 on 200, for container
// health checks in images without a shell.
func probe(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: worker probe http://127.0.0.1:8080/readyz")
		return exitUsage
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "probe:", err)
		return exitFailure
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "probe:", resp.Status)
		return exitFailure
	}
	return exitOK
}
