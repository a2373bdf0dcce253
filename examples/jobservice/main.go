// Command jobservice serves the demo async-job API (package
// internal/jobservice) on 127.0.0.1:8081:
//
//	POST /jobs {"seconds": 5, "outcome": "SUCCESS"}  starts a job: 200 {"taskId", "status": "PROCESSING"};
//	    optional "polls", "callbackUrl", "callbackFormat" ("json" or "xml"), "callbackProgress"
//	GET /status/{taskId}      200 {"taskId", "status"}: PROCESSING until done, then the outcome
//	POST /async-jobs          the same body: 202, Location: /operations/{id}, Retry-After: 1
//	GET /operations/{id}      202 + Retry-After while running, 200 with "result" on SUCCESS, else 409
//	DELETE /jobs/{id}         cancels a running job: 202 CANCELLED; 409 once finished; 404 if unknown
//	POST /notifications       records a notification: 204 (401 without a valid signature
//	                          when --notify-secret is set)
//
// A job with a callbackUrl gets its final status POSTed there, signed with
// Standard Webhooks headers when --callback-secret is set. --token makes
// every endpoint but /notifications want "Authorization: Bearer <token>".
// Flags may also be set through the environment variable named at the end of
// their usage. Secrets are never logged.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/httpnode/httpnode/internal/flagenv"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/internal/webhook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (JOBSERVICE_ADDR)")
	token := flag.String("token", "", "require this bearer token, optional (JOBSERVICE_TOKEN)")
	callbackSecret := flag.String("callback-secret", "", "whsec_... secret that signs pushed callbacks, optional (JOBSERVICE_CALLBACK_SECRET)")
	notifySecret := flag.String("notify-secret", "", "whsec_... secret that POST /notifications verifies, optional (JOBSERVICE_NOTIFY_SECRET)")
	flag.Parse()
	if err := flagenv.Apply(flag.CommandLine); err != nil {
		log.Fatal(err)
	}
	svc := jobservice.New()
	svc.Token = *token
	svc.CallbackSecrets = secrets("--callback-secret", *callbackSecret)
	svc.NotifySecrets = secrets("--notify-secret", *notifySecret)

	srv := &http.Server{Addr: *addr, Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("job service listening on http://%s (POST /jobs, GET /status/{taskId}, POST /async-jobs, "+
		"GET /operations/{id}, DELETE /jobs/{id}, POST /notifications; token %s, callback signing %s, notification signatures %s)",
		*addr, onOff(*token != ""), onOff(len(svc.CallbackSecrets) > 0), onOff(len(svc.NotifySecrets) > 0))
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	svc.Close()
}

// secrets parses an optional whsec_ secret; a bad one is fatal. The error
// never contains the secret.
func secrets(flagName, s string) []webhook.Secret {
	if s == "" {
		return nil
	}
	secret, err := webhook.ParseSecret(s)
	if err != nil {
		log.Fatalf("%s: %v", flagName, err)
	}
	return []webhook.Secret{secret}
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
