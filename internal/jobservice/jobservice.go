// Package jobservice is a small HTTP service with the common async-job
// contract, for the demo and the tests: POST /jobs starts a job and answers
// {"taskId": ..., "status": "PROCESSING"}; GET /status/{taskId} answers
// {"status": "PROCESSING"} until the job is done, then its outcome.
package jobservice

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Pending is the status of a job that is not done.
const Pending = "PROCESSING"

// Request is the body of POST /jobs. Every field is optional.
type Request struct {
	// Seconds is how long the job runs (default 3). Ignored when Polls is set.
	Seconds float64 `json:"seconds,omitempty"`
	// Polls makes the job finish at its Polls-th status request instead.
	Polls int `json:"polls,omitempty"`
	// Outcome is the final status (default "SUCCESS"); any other value, such
	// as "FAILED", is a failure to the node.
	Outcome string `json:"outcome,omitempty"`
}

type job struct {
	id, outcome string
	doneAt      time.Time
	pollsLeft   int // > 0: finishes on the pollsLeft-th poll; 0: by time
	forced      string
}

// Service holds the jobs in memory.
type Service struct {
	// Token, when set, must be sent as "Authorization: Bearer <Token>".
	Token string
	// OnPoll, when set, is called for every status request of a known job
	// (the benchmarks measure poll lateness with it).
	OnPoll func(id string, at time.Time)

	mu          sync.Mutex
	jobs        map[string]*job
	byKey       map[string]string
	submissions atomic.Int64
	polls       atomic.Int64
}

// New returns an empty service.
func New() *Service {
	return &Service{jobs: map[string]*job{}, byKey: map[string]string{}}
}

// Submissions counts POST /jobs requests received, duplicates included.
func (s *Service) Submissions() int64 { return s.submissions.Load() }

// Polls counts GET /status requests received.
func (s *Service) Polls() int64 { return s.polls.Load() }

// Finish ends a job now with the given status; false if there is no such job.
func (s *Service) Finish(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if ok {
		j.forced = status
	}
	return ok
}

// Handler serves the API.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", s.submit)
	mux.HandleFunc("GET /status/{id}", s.status)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

func (s *Service) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.Token == "" || r.Header.Get("Authorization") == "Bearer "+s.Token {
		return true
	}
	reply(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
	return false
}

func (s *Service) submit(w http.ResponseWriter, r *http.Request) {
	s.submissions.Add(1)
	if !s.authorized(w, r) {
		return
	}
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		reply(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error() + ` (send {"seconds": 3, "outcome": "SUCCESS"})`})
		return
	}
	if req.Seconds < 0 || req.Seconds > 86400 || req.Polls < 0 {
		reply(w, http.StatusBadRequest, map[string]string{"error": "seconds must be 0 to 86400 and polls not negative"})
		return
	}
	if req.Outcome == "" {
		req.Outcome = "SUCCESS"
	}
	if req.Seconds == 0 && req.Polls == 0 {
		req.Seconds = 3
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	if id, ok := s.byKey[key]; ok && key != "" {
		reply(w, http.StatusOK, map[string]string{"taskId": id, "status": Pending})
		return
	}
	j := &job{id: newID(), outcome: strings.ToUpper(req.Outcome), pollsLeft: req.Polls,
		doneAt: time.Now().Add(time.Duration(req.Seconds * float64(time.Second)))}
	s.jobs[j.id] = j
	if key != "" {
		s.byKey[key] = j.id
	}
	reply(w, http.StatusOK, map[string]string{"taskId": j.id, "status": Pending})
}

func (s *Service) status(w http.ResponseWriter, r *http.Request) {
	s.polls.Add(1)
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[r.PathValue("id")]
	if ok && s.OnPoll != nil {
		s.OnPoll(j.id, time.Now())
	}
	if !ok {
		reply(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown task %q", r.PathValue("id"))})
		return
	}
	status := Pending
	switch {
	case j.forced != "":
		status = j.forced
	case j.pollsLeft > 0:
		j.pollsLeft--
		if j.pollsLeft == 0 {
			j.forced = j.outcome
			status = j.outcome
		}
	case !time.Now().Before(j.doneAt):
		status = j.outcome
	}
	reply(w, http.StatusOK, map[string]string{"taskId": j.id, "status": status})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "job-" + hex.EncodeToString(b)
}
