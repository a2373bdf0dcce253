// Package jobservice is a small in-memory HTTP service with the common
// async-job contracts, for the demo, the README and the tests. All bodies are
// JSON unless said otherwise; errors answer {"error": "..."}.
//
//	POST /jobs             start a job (body: Request, every field optional);
//	                       200 {"taskId": "job-...", "status": "PROCESSING"}.
//	                       An Idempotency-Key header seen before answers the
//	                       same taskId again.
//	GET /status/{taskId}   200 {"taskId": ..., "status": "PROCESSING"} until the
//	                       job is done, then its outcome ("SUCCESS", "FAILED",
//	                       "CANCELLED", ...); 404 for an unknown id.
//	POST /async-jobs       the same body; 202 Accepted, Location:
//	                       /operations/{id}, Retry-After: 1,
//	                       {"taskId": ..., "status": "PROCESSING"}.
//	GET /operations/{id}   202 + Retry-After: 1 + {"taskId", "status":
//	                       "PROCESSING"} while running; 200 {"taskId", "status":
//	                       "SUCCESS", "result": {"rows": 42}} when it succeeded;
//	                       409 {"taskId", "status": "<OUTCOME>", "error": ...}
//	                       when it ended otherwise; 404 for an unknown id.
//	DELETE /jobs/{id}      cancel: 202 {"taskId", "status": "CANCELLED"} for a
//	                       running job; 409 {"taskId", "status", "error"} for a
//	                       finished one; 404 for an unknown id.
//	POST /notifications    a sink for notifications: records them, 204. With
//	                       NotifySecrets set, a request without a valid Standard
//	                       Webhooks signature answers 401; the first
//	                       FailNotifications requests answer 503.
//	GET /reports/{id}      a JSON export of ?mb= megabytes (1 to 200, default
//	                       10), written as it is made: {"report": id, "rows":
//	                       ["00000000,customer 0,EUR,0.00", ...], "count": n}.
//	POST /imports          a JSON object; 200 {"importId": "imp-N", "received":
//	                       <the object>, "flowRun": <the X-Flow-Run header>}.
//	GET /healthz           200 "ok".
//
// When Token is set every endpoint but /notifications and /healthz wants
// "Authorization: Bearer <Token>" and answers 401 without it; /notifications
// authenticates by signature only.
//
// A job whose Request has a CallbackURL is also pushed: when it ends (its
// Seconds elapse, its last Polls poll arrives, Finish is called or it is
// cancelled) the service POSTs its final status there, and with
// CallbackProgress also one PROCESSING callback when it starts. See Delivery
// for the bodies, signing and retries, and Close to stop the timers.
package jobservice
