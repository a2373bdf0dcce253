// Command jobservice serves the demo async-job API on 127.0.0.1:8081:
// POST /jobs {"seconds": 5, "outcome": "SUCCESS"} starts a job,
// GET /status/{taskId} reports PROCESSING until it is done.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/httpnode/httpnode/internal/jobservice"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	token := flag.String("token", "", "require this bearer token (optional)")
	flag.Parse()
	svc := jobservice.New()
	svc.Token = *token
	log.Printf("job service listening on http://%s (POST /jobs, GET /status/{taskId})", *addr)
	log.Fatal(http.ListenAndServe(*addr, svc.Handler()))
}
