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

	"github.com/httpnode/httpnode/internal/webhook"
)

// Pending is the status of a job that is not done.
const Pending = "PROCESSING"

// Request is the body of POST /jobs and POST /async-jobs. Every field is
// optional.
type Request struct {
	// Seconds is how long the job runs (default 3). Ignored when Polls is set.
	Seconds float64 `json:"seconds,omitempty"`
	// Polls makes the job finish at its Polls-th status request instead.
	Polls int `json:"polls,omitempty"`
	// Outcome is the final status (default "SUCCESS"); any other value, such
	// as "FAILED", is a failure to the node.
	Outcome string `json:"outcome,omitempty"`
	// CallbackURL, an absolute http or https URL, receives a POST with the
	// job's final status when it ends (see Delivery).
	CallbackURL string `json:"callbackUrl,omitempty"`
	// CallbackFormat is "json" (the default) or "xml".
	CallbackFormat string `json:"callbackFormat,omitempty"`
	// CallbackProgress also POSTs one PROCESSING callback when the job
	// starts. It needs CallbackURL.
	CallbackProgress bool `json:"callbackProgress,omitempty"`
}

type job struct {
	id, outcome string
	created     time.Time
	doneAt      time.Time
	pollsLeft   int // > 0: finishes on the pollsLeft-th poll; 0: by time
	forced      string
	cb          *callback // nil without a callbackUrl
}

// Service holds the jobs in memory. Create it with New; set its fields
// before serving. It is safe for concurrent use.
type Service struct {
	// Token, when set, must be sent as "Authorization: Bearer <Token>".
	Token string
	// OnPoll, when set, is called for every status request of a known job
	// (the benchmarks measure poll lateness with it).
	OnPoll func(id string, at time.Time)

	// CallbackSecrets, when set, sign every callback with Standard Webhooks
	// headers (one signature per secret).
	CallbackSecrets []webhook.Secret
	// CallbackClient sends the callbacks; nil means a client with a 10 s
	// timeout.
	CallbackClient *http.Client
	// CallbackRetries bounds the retries of one callback delivery: 0 means
	// 5, a negative value none.
	CallbackRetries int
	// CallbackBackoff is the wait before the first retry, doubled for each
	// next one up to 5 s; 0 means 100 ms.
	CallbackBackoff time.Duration

	// NotifySecrets, when set, make POST /notifications verify the Standard
	// Webhooks signature and answer 401 when it is missing or wrong.
	NotifySecrets []webhook.Secret
	// FailNotifications makes the first FailNotifications requests to POST
	// /notifications answer 503 Service Unavailable.
	FailNotifications int

	mu            sync.Mutex
	jobs          map[string]*job
	byKey         map[string]string
	deliveries    []Delivery
	notifications []Notification
	cancelled     map[string]bool
	changed       chan struct{} // closed and replaced when a record is added
	closed        bool
	closing       chan struct{} // closed by Close
	inflight      sync.WaitGroup
	submissions   atomic.Int64
	polls         atomic.Int64
	imports       atomic.Int64
	cancels       atomic.Int64
	notifyTries   atomic.Int64
}

// New returns an empty service.
func New() *Service {
	return &Service{
		jobs: map[string]*job{}, byKey: map[string]string{}, cancelled: map[string]bool{},
		changed: make(chan struct{}), closing: make(chan struct{}),
	}
}

// Submissions counts POST /jobs and POST /async-jobs requests received,
// duplicates and rejected ones included.
func (s *Service) Submissions() int64 { return s.submissions.Load() }

// Polls counts GET /status and GET /operations requests received.
func (s *Service) Polls() int64 { return s.polls.Load() }

// Finish ends a job now with the given status; false if there is no such
// job. It may be called again to change the status polls report, but a
// callbackUrl job gets its final callback only once, when it first ends.
func (s *Service) Finish(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if ok {
		s.endLocked(j, status)
	}
	return ok
}

// Handler serves the API described in the package documentation.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs", s.submit)
	mux.HandleFunc("GET /status/{id}", s.status)
	mux.HandleFunc("POST /async-jobs", s.submitAsync)
	mux.HandleFunc("GET /operations/{id}", s.operation)
	mux.HandleFunc("DELETE /jobs/{id}", s.cancel)
	mux.HandleFunc("POST /notifications", s.notify)
	mux.HandleFunc("GET /reports/{id}", s.report)
	mux.HandleFunc("POST /imports", s.importFile)
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
	if id, ok := s.start(w, r); ok {
		reply(w, http.StatusOK, map[string]string{"taskId": id, "status": Pending})
	}
}

// start counts, authorizes, validates and starts the job of a submission,
// or answers the error itself and returns false.
func (s *Service) start(w http.ResponseWriter, r *http.Request) (id string, ok bool) {
	s.submissions.Add(1)
	if !s.authorized(w, r) {
		return "", false
	}
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		reply(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error() + ` (send {"seconds": 3, "outcome": "SUCCESS"})`})
		return "", false
	}
	if req.Seconds < 0 || req.Seconds > 86400 || req.Polls < 0 {
		reply(w, http.StatusBadRequest, map[string]string{"error": "seconds must be 0 to 86400 and polls not negative"})
		return "", false
	}
	cb, err := newCallback(req)
	if err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return "", false
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
		return id, true
	}
	now := time.Now()
	run := time.Duration(req.Seconds * float64(time.Second))
	j := &job{id: newID(), outcome: strings.ToUpper(req.Outcome), pollsLeft: req.Polls,
		created: now, doneAt: now.Add(run), cb: cb}
	s.jobs[j.id] = j
	if key != "" {
		s.byKey[key] = j.id
	}
	if cb != nil {
		if cb.progress {
			s.sendLocked(j, Pending)
		}
		if j.pollsLeft == 0 && !s.closed {
			cb.timer = time.AfterFunc(run, func() { s.expire(j.id) })
		}
	}
	return j.id, true
}

func (s *Service) status(w http.ResponseWriter, r *http.Request) {
	s.polls.Add(1)
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.pollLocked(r.PathValue("id"))
	if !ok {
		reply(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown task %q", r.PathValue("id"))})
		return
	}
	reply(w, http.StatusOK, map[string]string{"taskId": j.id, "status": j.status})
}

// polled is a job's state as one poll saw it.
type polled struct{ id, status string }

// pollLocked counts a poll of job id and returns its status; false for an
// unknown id. The last poll of a Polls job ends it.
func (s *Service) pollLocked(id string) (polled, bool) {
	j, ok := s.jobs[id]
	if !ok {
		return polled{}, false
	}
	if s.OnPoll != nil {
		s.OnPoll(j.id, time.Now())
	}
	if j.forced == "" && j.pollsLeft > 0 {
		j.pollsLeft--
		if j.pollsLeft == 0 {
			s.endLocked(j, j.outcome)
		}
	}
	return polled{j.id, currentLocked(j)}, true
}

// currentLocked is a job's status now, without counting a poll.
func currentLocked(j *job) string {
	switch {
	case j.forced != "":
		return j.forced
	case j.pollsLeft > 0:
		return Pending
	case !time.Now().Before(j.doneAt):
		return j.outcome
	}
	return Pending
}

// endLocked sets a job's final status and, the first time, sends its final
// callback.
func (s *Service) endLocked(j *job, status string) {
	j.forced = status
	if j.cb == nil || j.cb.ended {
		return
	}
	j.cb.ended = true
	if j.cb.timer != nil {
		j.cb.timer.Stop()
	}
	s.sendLocked(j, status)
}

// expire ends a callbackUrl job whose time is up.
func (s *Service) expire(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[id]; ok && j.forced == "" && !s.closed {
		s.endLocked(j, j.outcome)
	}
}

// changedLocked wakes the waiters of WaitCallbacks and WaitNotifications.
func (s *Service) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
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
