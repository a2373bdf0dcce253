package jobservice

import (
	"fmt"
	"net/http"
)

// cancelledStatus is the status of a job ended by DELETE /jobs/{id}.
const cancelledStatus = "CANCELLED"

// Cancels counts DELETE /jobs/{id} requests received, rejected ones
// included.
func (s *Service) Cancels() int64 { return s.cancels.Load() }

// Cancelled reports whether an authorized DELETE /jobs/{id} request was
// received for id, whatever it answered (a job that had already finished
// keeps its status).
func (s *Service) Cancelled(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled[id]
}

// cancel serves DELETE /jobs/{id}: a running job ends CANCELLED (and sends
// its callback), a finished one answers 409 with its status.
func (s *Service) cancel(w http.ResponseWriter, r *http.Request) {
	s.cancels.Add(1)
	if !s.authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelled[id] = true
	j, ok := s.jobs[id]
	if !ok {
		reply(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown task %q", id)})
		return
	}
	if status := currentLocked(j); status != Pending {
		reply(w, http.StatusConflict, map[string]string{"taskId": id, "status": status,
			"error": fmt.Sprintf("the job already ended with %s (only a running job can be cancelled)", status)})
		return
	}
	s.endLocked(j, cancelledStatus)
	reply(w, http.StatusAccepted, map[string]string{"taskId": id, "status": cancelledStatus})
}
