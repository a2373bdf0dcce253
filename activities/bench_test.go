package activities

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
)

// The cost of the node's request path (secrets, building, capped read,
// masking) next to a bare http.Client.Do of the same request (same method,
// URL and headers, the same 30s per-try timeout) against the same loopback
// server:
//
//	go test ./activities -run XXX -bench 'SendRequest|BareClient' -benchmem -count 5
func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"taskId": "job-1", "status": "PROCESSING"}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkSendRequest(b *testing.B) {
	srv := benchServer(b)
	a := newActivities()
	r := request("POST", srv.URL+"/jobs")
	r.Auth, r.Headers = nil, map[string]string{"Authorization": "Bearer ${secret.TOKEN}"}
	in := SendRequestInput{Request: ready(r), IdempotencyKey: "k"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.SendRequest(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareClient(b *testing.B) {
	srv := benchServer(b)
	c := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		// the same request SendRequest sends, under the same per-try timeout
		ctx, cancel := context.WithTimeout(context.Background(), httpnode.DefaultRequestTimeout)
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/jobs", nil)
		req.Header.Set("Authorization", "Bearer tok-123456")
		req.Header.Set(HeaderIdempotencyKey, "k")
		req.Header.Set("User-Agent", UserAgent)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
	}
}

// The worker's heap while it takes a 50 MB response: stored by reference
// (the body streamed to a directory store), next to reading it whole into
// memory with a bare client (what keeping it would cost), and to the
// default cut at maxResponseBytes (no store); and a stored body of
// httpnode.MaxParsedBodyBytes that an output reads whole. peak-heap-MiB is the most the
// heap's objects grew above what they were before the request, sampled
// every 100µs:
//
//	go test ./activities -run XXX -bench LargeBody -benchtime 5x -count 3
func BenchmarkLargeBody(b *testing.B) {
	body := report(50 << 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	stored := newActivities()
	s, err := bodystore.Open(context.Background(), b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	stored.Bodies = s
	in := SendRequestInput{Request: ready(request("GET", srv.URL))}
	send := func(a *Activities, in SendRequestInput) func() {
		return func() {
			out, err := a.SendRequest(context.Background(), in)
			if err != nil {
				b.Fatal(err)
			}
			if len(in.Outputs) > 0 && len(out.Outputs) == 0 {
				b.Fatal("no outputs")
			}
			if ref := out.Response.BodyRef; ref != nil {
				_ = s.Delete(context.Background(), bodystore.KeyOf(ref.URL))
			}
		}
	}
	// the largest body expressions read whole
	parsed := report(httpnode.MaxParsedBodyBytes)
	srvParsed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(parsed)
	}))
	b.Cleanup(srvParsed.Close)
	withOutputs := SendRequestInput{Request: ready(request("GET", srvParsed.URL)), Outputs: map[string]string{"total": "body.count"}}
	for _, bc := range []struct {
		name string
		size int
		run  func()
	}{
		{"stored", len(body), send(stored, in)},
		{"stored+outputs-16MiB", len(parsed), send(stored, withOutputs)},
		{"cut-without-store", len(body), send(newActivities(), in)},
		{"whole-in-memory", len(body), func() {
			resp, err := http.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(got) != len(body) {
				b.Fatal("short body")
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var peak float64
			for b.Loop() {
				peak += peakHeapGrowth(bc.run)
			}
			b.ReportMetric(peak/float64(b.N)/(1<<20), "peak-heap-MiB")
			b.SetBytes(int64(bc.size))
		})
	}
}

// peakHeapGrowth runs f and returns how far the heap's objects grew above
// their size before it, at most.
func peakHeapGrowth(f func()) float64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() float64 { metrics.Read(sample); return float64(sample[0].Value.Uint64()) }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			if v := read() - base; v > float64(peak.Load()) {
				peak.Store(uint64(v))
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return float64(peak.Load())
}
