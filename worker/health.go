package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// health serves /healthz (the process is up) and /readyz (the worker polls
// its task queue; 503 before start and while stopping) for probes.
type health struct {
	ready atomic.Bool
	stopS func()
}

func startHealth(addr string) (*health, error) {
	h := &health{stopS: func() {}}
	if addr == "" {
		return h, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
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

func (h *health) stop() {
	h.ready.Store(false)
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
