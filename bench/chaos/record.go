package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/jobservice"
)

// recorder wraps the demo job service and records, per node (its
// X-Node header), every main request delivered: its idempotency key and
// when the first came.
type recorder struct {
	jobs *jobservice.Service
	// delay holds each main request up to this long before it is answered
	// (drawn per request), so that kills find requests in flight.
	delay time.Duration
	mu    sync.Mutex
	subs  map[string][]submission // node id -> deliveries
}

type submission struct {
	key string
	at  time.Time
}

func newRecorder() *recorder {
	return &recorder{jobs: jobservice.New(), subs: map[string][]submission{}}
}

func (rc *recorder) handler() http.Handler {
	h := rc.jobs.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (r.URL.Path == "/jobs" || r.URL.Path == "/async-jobs") {
			rc.mu.Lock()
			node := r.Header.Get("X-Node")
			rc.subs[node] = append(rc.subs[node], submission{key: r.Header.Get("Idempotency-Key"), at: time.Now()})
			rc.mu.Unlock()
			if rc.delay > 0 {
				time.Sleep(rand.N(rc.delay))
			}
		}
		h.ServeHTTP(w, r)
	})
}

// deliveries are the main requests delivered for node.
func (rc *recorder) deliveries(node string) []submission {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]submission(nil), rc.subs[node]...)
}

// notificationIDs maps each node (the TaskFinish document's JobId) to the
// webhook-ids of the notifications it delivered.
func (rc *recorder) notificationIDs() map[string][]string {
	out := map[string][]string{}
	for _, n := range rc.jobs.Notifications() {
		var doc httpnode.TaskFinish
		if json.NewDecoder(bytes.NewReader(n.Body)).Decode(&doc) != nil {
			continue
		}
		out[doc.JobsDetail.JobID] = append(out[doc.JobsDetail.JobID], n.WebhookID)
	}
	return out
}

// panics counts the lines of a log that report a panic.
func panics(r io.Reader) int {
	b, _ := io.ReadAll(r)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "panic") {
			n++
		}
	}
	return n
}
