package httpnode

import "encoding/json"

// InFlow is a node's place in a flow.
type InFlow struct {
	Flow string `json:"flow,omitempty"` // the flow's name
	Node string `json:"node"`           // the node's id
}

// Node is one HTTP node: a main request and, optionally, the callback polling
// that waits for the job it started. Every field but Request is optional; a
// zero value means the documented default (see WithDefaults).
type Node struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// RunStatus is "normal" (default) or "skip": a skipped node completes at
	// once with status SKIPPED and sends nothing ("Do Not Execute").
	RunStatus string `json:"runStatus,omitempty"`
	// Params are the node's parameters, used as ${name}; they override the
	// worker's global parameters. starter run --param k=v sets them too.
	Params map[string]string `json:"params,omitempty"`
	// ScheduledTime (RFC 3339) is the time that time macros such as
	// ${yyyyMMdd-1d} are computed from, when no Temporal Schedule started
	// the run; without it, the workflow's start time.
	ScheduledTime string `json:"scheduledTime,omitempty"`
	// TimeZone (IANA name) of the time macros; default the worker's (UTC).
	TimeZone string    `json:"timeZone,omitempty"`
	Request  Request   `json:"request"`
	Callback *Callback `json:"callback,omitempty"`
	Retry    *Retry    `json:"retry,omitempty"`
	// Timeout bounds the whole node, every attempt and wait included. Zero
	// means no limit beyond the callback budgets.
	Timeout Duration `json:"timeout,omitempty"`
	// OnFailure is "abort" (default: the workflow fails with a typed error) or
	// "continue" (the workflow completes with a result whose status is FAILED).
	OnFailure string `json:"onFailure,omitempty"`
	// Notify sends a TaskFinish document when the node ends.
	Notify *Notify `json:"notify,omitempty"`
	// Cancel is called once, after the main request was answered, when the
	// node is cancelled or times out (e.g. DELETE .../jobs/${taskId}), so
	// the remote job stops too.
	Cancel *Request `json:"cancel,omitempty"`
	// Outputs name values computed from the final response (the main
	// response, or with a callback the final poll's) by CEL expressions,
	// e.g. {"fileUrl": "body.data.url", "rows": "int(body.data.rows)"};
	// a node that succeeds carries them, as JSON, in Result.Outputs.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Refs and SkippedFields are set by the Flow workflow for a node of a
	// flow: Refs are the values (JSON) of the node's ${nodes.…} and
	// ${flow.…} references, by the text between the braces; SkippedFields
	// the fields it left out because they use data an upstream node does
	// not have (it failed or was skipped), which the result lists too.
	Refs          map[string]json.RawMessage `json:"refs,omitempty"`
	SkippedFields []string                   `json:"skippedFields,omitempty"`
	// InFlow, set by the Flow workflow, names the flow and the node's id
	// in it: the node's notification then carries the flow's run.
	InFlow *InFlow `json:"inFlow,omitempty"`
}

// Request is an HTTP request: the node's main request, and the shape of each
// callback poll.
type Request struct {
	// Method is GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
	Method string `json:"method,omitempty"`
	// URL is an absolute http or https URL without credentials.
	URL string `json:"url,omitempty"`
	// Query values are added to the URL's query.
	Query map[string]string `json:"query,omitempty"`
	// Headers values may hold secret references such as "Bearer ${secret.TOKEN}".
	Headers map[string]string `json:"headers,omitempty"`
	Auth    *Auth             `json:"auth,omitempty"`
	// Body is any JSON value. With BodyType "json" (default) it is sent as
	// JSON; "form" takes an object of scalars and sends it URL-encoded; "raw"
	// takes a string and sends it as is (Content-Type text/plain unless set).
	Body     json.RawMessage `json:"body,omitempty"`
	BodyType string          `json:"bodyType,omitempty"`
	// Timeout bounds one try of the request (default 30s).
	Timeout Duration `json:"timeout,omitempty"`
	// SuccessStatus lists the status codes that count as success: codes
	// ("201"), classes ("2xx") and ranges ("200-299"). Default ["2xx"].
	SuccessStatus []string `json:"successStatus,omitempty"`
	// ErrorMessages maps a status code or class ("404", "4xx") to the
	// message the node fails with when the response has that status.
	ErrorMessages map[string]string `json:"errorMessages,omitempty"`
	// SuccessWhen, a CEL expression over the response (see Expr), must
	// also be true for a response whose status passes SuccessStatus to be
	// a success, e.g. "body.code == 0". On a callback it says the job
	// succeeded.
	SuccessWhen string `json:"successWhen,omitempty"`
	// FailWhen rules are checked in order on every response: the first
	// whose When is true fails the try with its Message (retried like a
	// 503 when Retry is set), e.g. {"when": "body.code == 1001",
	// "message": "quota exceeded"}.
	FailWhen []FailRule `json:"failWhen,omitempty"`
	TLS      *TLS       `json:"tls,omitempty"`
	// Proxy is an http, https or socks5 proxy URL. Without it the worker's
	// HTTP_PROXY / HTTPS_PROXY / NO_PROXY environment applies.
	Proxy string `json:"proxy,omitempty"`
	// MaxResponseBytes caps the response body kept in the result (default
	// 256 KiB, at most 1 MiB); a longer body is cut and flagged truncated.
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`
	// StoreBody streams the whole response body to the worker's body store
	// (worker --body-store), whatever its size: the response in history
	// keeps an excerpt and BodyRef. Without it a body longer than
	// MaxResponseBytes goes to the store when the worker has one, and is cut
	// when it has none.
	StoreBody bool `json:"storeBody,omitempty"`
	// FollowRedirects follows 3xx answers (off by default: a 3xx is the
	// response, judged by successStatus). Every hop is checked against the
	// worker's egress policy, and credentials (Authorization, Cookie, the
	// API-key header) are dropped when the host changes.
	FollowRedirects bool `json:"followRedirects,omitempty"`
	// MaxRedirects bounds the hops followed (default 5, at most 20); more,
	// or a loop, fails with RedirectLoop.
	MaxRedirects int `json:"maxRedirects,omitempty"`
	// Sign signs the request with the Standard Webhooks scheme
	// (webhook-id, webhook-timestamp, webhook-signature over the body).
	Sign *Sign `json:"sign,omitempty"`
}

// Sign lists the Standard Webhooks signing secrets of a request, as secret
// references (${secret.HOOK_SECRET}, each "whsec_..." or base64). Every
// secret signs, so receivers can rotate.
type Sign struct {
	Secrets []string `json:"secrets"`
}

// Auth describes how a request authenticates. Credentials are secret
// references (${secret.NAME}) resolved by the worker at send time, never
// literal values: the node is stored in workflow history.
type Auth struct {
	// Type is "bearer", "basic" or "apiKey".
	Type string `json:"type"`
	// Token is the bearer token reference.
	Token string `json:"token,omitempty"`
	// Username (literal or reference) and Password (reference) for basic auth.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Key is the API key reference, sent in the header (default) or query
	// parameter named Name (default "X-API-Key").
	Key  string `json:"key,omitempty"`
	Name string `json:"name,omitempty"`
	In   string `json:"in,omitempty"`
}

// TLS configures certificate checks and client certificates. The PEM
// material comes from secrets (CA, Cert, Key: one ${secret.NAME} each,
// bound to the request's hosts like any secret) or from files the operator
// offers in the worker's --tls-dir (CAFile, CertFile, KeyFile: names
// relative to that directory; no other path on the worker can be named).
type TLS struct {
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// CA is a secret holding PEM certificates to trust instead of the
	// system's; CAFile is the same from a file under --tls-dir.
	CA     string `json:"ca,omitempty"`
	CAFile string `json:"caFile,omitempty"`
	// Cert and Key are secrets holding a PEM client certificate and its
	// key; CertFile and KeyFile the same from files under --tls-dir.
	Cert       string `json:"cert,omitempty"`
	Key        string `json:"key,omitempty"`
	CertFile   string `json:"certFile,omitempty"`
	KeyFile    string `json:"keyFile,omitempty"`
	ServerName string `json:"serverName,omitempty"`
}

// UsesSecrets reports whether t takes PEM material from secrets.
func (t *TLS) UsesSecrets() bool { return t != nil && (t.CA != "" || t.Cert != "" || t.Key != "") }

// Callback configures polling of the status URL of the job the main request
// started. Its request fields (method, query, headers, auth, body, ...) work
// as in Request; URL is required, and timeout defaults to 10s per poll.
type Callback struct {
	Request
	// Mode is "timer" (the default unless the worker's --default-wait-mode
	// says otherwise: a durable timer, then the poll as a local
	// activity: 6 history events a poll, each poll visible), "activity"
	// (every poll inside one heartbeating activity: no event per poll, for
	// frequent polls of cheap endpoints; polls are not visible one by one,
	// and the wait holds an activity slot), "retry" (one activity whose
	// retries are the polls, Temporal's way for infrequent polls: no event
	// per poll, no slot held between polls), "auto" (one of the three,
	// picked from the interval and budgets: see AutoMode), "push" (the remote POSTs its
	// status to ${callbackUrl}, served by the worker's callback receiver),
	// "push+poll" (push, and polls of URL at Interval, default 1m, as a
	// safety net: the first final status wins) or "location" (a 202 Accepted
	// main response is polled at its Location until another status, judged
	// by request.successStatus).
	Mode string `json:"mode,omitempty"`
	// PushStatusField is the dotted path of the status in a pushed body
	// (default StatusField); an XML body is read with its root element
	// dropped, e.g. "JobsDetail.State" for a TaskFinish document.
	PushStatusField string `json:"pushStatusField,omitempty"`
	// Interval between polls (default 10s, at least 1s: Temporal timers do not
	// fire sooner).
	Interval Duration `json:"interval,omitempty"`
	// Backoff is how the interval grows: "fixed" (default), "linear" (the
	// n-th wait is n × interval) or "exponential" (interval × 2^(n-1)),
	// capped at MaxInterval (default 1h).
	Backoff     string   `json:"backoff,omitempty"`
	MaxInterval Duration `json:"maxInterval,omitempty"`
	// Jitter spreads each wait uniformly over [minInterval, wait] ("full
	// jitter"), decided deterministically per node and poll.
	Jitter bool `json:"jitter,omitempty"`
	// MinInterval is the floor of every wait, hints and jitter included
	// (default and at least 1s).
	MinInterval Duration `json:"minInterval,omitempty"`
	// IntervalField is a dotted path in the poll response whose value
	// (seconds, or a duration such as "30s") is the next wait. A poll
	// response's Retry-After header is such a hint too. Hints are kept
	// within minInterval and maxInterval.
	IntervalField string `json:"intervalField,omitempty"`
	// TaskIDField is the dotted path of the task id in the main response
	// (default "taskId"). The id is appended to URL as a path segment, or put
	// where ${taskId} stands.
	TaskIDField string `json:"taskIdField,omitempty"`
	// StatusField is the dotted path of the status in a poll response
	// (default "status").
	StatusField string `json:"statusField,omitempty"`
	// Pending statuses keep polling (default ["PROCESSING"]); Success statuses
	// succeed (default ["SUCCESS"]); any other status fails the attempt.
	Pending []string `json:"pending,omitempty"`
	Success []string `json:"success,omitempty"`
	// PendingWhen, with SuccessWhen and FailWhen (CEL over each poll's
	// response, which also sees polls and elapsed), judges the job instead
	// of Pending and Success: failWhen first, then success when successWhen
	// is true, pending when pendingWhen is true; without pendingWhen, a
	// poll that is not a success is pending, without successWhen one that
	// is not pending is a success. StatusField then only names what the
	// progress shows as the job's status.
	PendingWhen string `json:"pendingWhen,omitempty"`
	// MaxPolls ends the wait after this many polls (0: no count limit).
	MaxPolls int `json:"maxPolls,omitempty"`
	// Deadline ends the wait this long after the main request (default 24h).
	Deadline Duration `json:"deadline,omitempty"`
	// PollsPerRun is how many polls one workflow run makes before it
	// continues as new, keeping history small (default 300: a run stays
	// under ~1,850 events at 6 events per poll).
	PollsPerRun int `json:"pollsPerRun,omitempty"`
	// StuckAfterPolls and StuckAfter flag a node whose remote status has not
	// changed for that many polls or that long (0: off): it is logged, shown
	// by the progress query and the result, and set in the HttpNodeStuck
	// search attribute when the namespace has it. With FailWhenStuck the
	// attempt fails instead (error type RemoteStuck).
	StuckAfterPolls int      `json:"stuckAfterPolls,omitempty"`
	StuckAfter      Duration `json:"stuckAfter,omitempty"`
	FailWhenStuck   bool     `json:"failWhenStuck,omitempty"`
}

// Retry re-runs a failed attempt (main request and wait) after Interval.
type Retry struct {
	// Count is how many times a failed attempt is run again (default 1; 0
	// disables node retries).
	Count *int `json:"count,omitempty"`
	// Interval is the wait before a retry (default 5m).
	Interval Duration `json:"interval,omitempty"`
}
