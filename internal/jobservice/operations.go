package jobservice

import (
	"fmt"
	"net/http"
)

// operationResult is the "result" of a succeeded operation.
var operationResult = map[string]int{"rows": 42}

// submitAsync serves POST /async-jobs: /jobs with a 202 and a Location.
func (s *Service) submitAsync(w http.ResponseWriter, r *http.Request) {
	id, ok := s.start(w, r)
	if !ok {
		return
	}
	w.Header().Set("Location", "/operations/"+id)
	w.Header().Set("Retry-After", "1")
	reply(w, http.StatusAccepted, map[string]string{"taskId": id, "status": Pending})
}

// operation serves GET /operations/{id}: 202 while the job runs, 200 with
// a result when it succeeded, 409 when it ended otherwise.
func (s *Service) operation(w http.ResponseWriter, r *http.Request) {
	s.polls.Add(1)
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	j, ok := s.pollLocked(r.PathValue("id"))
	s.mu.Unlock()
	switch {
	case !ok:
		reply(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown operation %q", r.PathValue("id"))})
	case j.status == Pending:
		w.Header().Set("Retry-After", "1")
		reply(w, http.StatusAccepted, map[string]string{"taskId": j.id, "status": Pending})
	case j.status == "SUCCESS":
		reply(w, http.StatusOK, map[string]any{"taskId": j.id, "status": j.status, "result": operationResult})
	default:
		reply(w, http.StatusConflict, map[string]string{"taskId": j.id, "status": j.status, "error": failure(j.status)})
	}
}

// failure is the error message of a job that ended with status.
func failure(status string) string {
	if status == cancelledStatus {
		return "the job was cancelled"
	}
	return "the job failed"
}
