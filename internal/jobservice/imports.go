package jobservice

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// importFile serves POST /imports: it takes a JSON object and answers it
// back with an id, and the X-Flow-Run header when given, for flows that
// hand an upstream node's data on.
func (s *Service) importFile(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error() + ` (send a JSON object, e.g. {"file": "..."})`})
		return
	}
	n := s.imports.Add(1)
	reply(w, http.StatusOK, map[string]any{"importId": fmt.Sprintf("imp-%d", n), "received": body, "flowRun": r.Header.Get("X-Flow-Run")})
}
