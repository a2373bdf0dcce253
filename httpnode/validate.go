package httpnode

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/textproto"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Methods lists the HTTP methods a request may use.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// SensitiveHeaders carry credentials, in canonical form: in a node their
// values must be secret references, results show them masked, and a
// redirect to another origin drops them.
var SensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Api-Key", "Apikey", "X-Auth-Token", "X-Access-Token"}

// IsSensitiveHeader reports whether the header name (any case) is one of
// SensitiveHeaders.
func IsSensitiveHeader(name string) bool {
	return slices.Contains(SensitiveHeaders, textproto.CanonicalMIMEHeaderKey(name))
}

// Validate checks every field of n and returns a *ValidationError listing all
// problems, or nil.
func (n Node) Validate() error {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains([]string{"", RunNormal, RunSkip}, n.RunStatus) {
		add("runStatus", "%q is not allowed (use \"normal\" or \"skip\")", n.RunStatus)
	}
	if !slices.Contains([]string{"", OnFailureAbort, OnFailureContinue}, n.OnFailure) {
		add("onFailure", "%q is not allowed (use \"abort\" or \"continue\")", n.OnFailure)
	}
	if n.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	for _, k := range slices.Sorted(maps.Keys(n.Params)) {
		if err := CheckParamName(k); err != nil {
			add("params."+k, "%v", err)
		}
	}
	if n.ScheduledTime != "" {
		if _, err := time.Parse(time.RFC3339, n.ScheduledTime); err != nil {
			add("scheduledTime", "%q is not an RFC 3339 time (use e.g. \"2026-11-23T02:00:00Z\")", n.ScheduledTime)
		}
	}
	if n.Request.URL == "" {
		add("request.url", "is required (an absolute http or https URL)")
	}
	pushed := n.Callback != nil && n.Callback.Pushed()
	validateRequest("request", n.Request, refRule{secrets: true, callbackURL: pushed}, &errs)
	if n.Retry != nil {
		if c := n.Retry.Count; c != nil && (*c < 0 || *c > 100) {
			add("retry.count", "%d is out of range (use 0 to 100; 0 disables retries)", *c)
		}
		if n.Retry.Interval < 0 {
			add("retry.interval", "must not be negative")
		}
	}
	if cb := n.Callback; cb != nil {
		switch {
		case cb.URL == "" && (cb.Mode == "" || cb.Mode == ModeTimer || cb.Mode == ModeActivity):
			add("callback.url", "is required when callback is set (the status URL; the task id is appended to it)")
		case cb.URL == "" && cb.Mode == ModePushPoll:
			add("callback.url", "is required with mode \"push+poll\" (the status URL polled as a safety net; use mode \"push\" to rely on the push alone)")
		case cb.URL != "" && cb.Mode == ModePush:
			add("callback.url", "is not polled with mode \"push\" (use mode \"push+poll\" to poll it as a safety net, or leave it out)")
		case cb.URL != "" && cb.Mode == ModeLocation:
			add("callback.url", "is not used with mode \"location\" (the main response's Location header is polled)")
		}
		if cb.Pushed() && !n.Request.Mentions(CallbackURLRef) {
			add("callback.mode", "%q needs the remote to learn where to call back: put ${callbackUrl} in request.body, request.query or request.headers", cb.Mode)
		}
		if cb.PushStatusField != "" && !validPath(cb.PushStatusField) {
			add("callback.pushStatusField", "%q is not a dotted path (use e.g. \"status\" or \"JobsDetail.State\")", cb.PushStatusField)
		}
		validateRequest("callback", cb.Request, refRule{secrets: true, taskID: true}, &errs)
		floor, why := cb.minInterval(), "Temporal timers fire no sooner; for faster polls use mode \"activity\""
		if cb.Mode == ModeActivity {
			why = "the floor of activity mode"
		}
		if cb.Interval != 0 && cb.Interval.D() < floor {
			add("callback.interval", "%s is below the minimum of %s (%s)", cb.Interval, floor, why)
		}
		if !slices.Contains([]string{"", ModeTimer, ModeActivity, ModePush, ModePushPoll, ModeLocation}, cb.Mode) {
			add("callback.mode", "%q is not allowed (use \"timer\", \"activity\", \"push\", \"push+poll\" or \"location\")", cb.Mode)
		}
		if !slices.Contains([]string{"", BackoffFixed, BackoffLinear, BackoffExponential}, cb.Backoff) {
			add("callback.backoff", "%q is not allowed (use \"fixed\", \"linear\" or \"exponential\")", cb.Backoff)
		}
		if cb.MinInterval != 0 && cb.MinInterval.D() < floor {
			add("callback.minInterval", "%s is below the minimum of %s (%s)", cb.MinInterval, floor, why)
		}
		if cb.MaxInterval != 0 && (cb.MaxInterval < cb.Interval || (cb.MinInterval != 0 && cb.MaxInterval < cb.MinInterval)) {
			add("callback.maxInterval", "%s is below callback.interval or callback.minInterval", cb.MaxInterval)
		}
		if cb.StuckAfterPolls < 0 || cb.StuckAfter < 0 {
			add("callback.stuckAfterPolls", "stuckAfterPolls and stuckAfter must not be negative (0 turns stuck detection off)")
		}
		if cb.FailWhenStuck && cb.StuckAfterPolls == 0 && cb.StuckAfter == 0 {
			add("callback.failWhenStuck", "needs stuckAfterPolls or stuckAfter to say when a node is stuck")
		}
		if cb.IntervalField != "" && !validPath(cb.IntervalField) {
			add("callback.intervalField", "%q is not a dotted path (use e.g. \"retryAfterSeconds\")", cb.IntervalField)
		}
		if cb.MaxPolls < 0 {
			add("callback.maxPolls", "must not be negative (0 means no count limit)")
		}
		if cb.Deadline < 0 {
			add("callback.deadline", "must not be negative")
		}
		if cb.PollsPerRun < 0 || cb.PollsPerRun > MaxPollsPerRun {
			add("callback.pollsPerRun", "%d is out of range (use 1 to %d, so that no workflow run exceeds 2,000 history events)", cb.PollsPerRun, MaxPollsPerRun)
		}
		for _, f := range []struct{ path, v string }{{"callback.taskIdField", cb.TaskIDField}, {"callback.statusField", cb.StatusField}} {
			if f.v != "" && !validPath(f.v) {
				add(f.path, "%q is not a dotted path (use e.g. \"taskId\" or \"data.job.id\")", f.v)
			}
		}
		for _, s := range cb.Pending {
			if slices.Contains(cb.Success, s) {
				add("callback.pending", "%q is also in callback.success (a status is either pending or success)", s)
			}
		}
	}
	if n.Notify != nil {
		validateNotify(*n.Notify, &errs)
	}
	if c := n.Cancel; c != nil {
		if c.URL == "" {
			add("cancel.url", "is required when cancel is set (e.g. https://api.example.com/jobs/${taskId} with method DELETE)")
		}
		validateRequest("cancel", *c, refRule{secrets: true, taskID: true}, &errs)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs}
}

// Mentions reports whether the reference ref (such as "${taskId}") stands in
// r's URL, query, headers or body.
func (r Request) Mentions(ref string) bool {
	if strings.Contains(r.URL, ref) || strings.Contains(string(r.Body), ref) {
		return true
	}
	//workflowcheck:ignore any-of: the order does not change the answer
	for _, v := range r.Query {
		if strings.Contains(v, ref) {
			return true
		}
	}
	//workflowcheck:ignore any-of: the order does not change the answer
	for _, v := range r.Headers {
		if strings.Contains(v, ref) {
			return true
		}
	}
	return false
}

// looksLikeHost reports whether a URL without a scheme starts with a host
// name or address, such as 127.0.0.1:8080/x or api.example.com/jobs.
func looksLikeHost(s string) bool {
	host, _, _ := strings.Cut(s, "/")
	host, _, _ = strings.Cut(host, "?")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.Contains(host, ".") && !strings.ContainsAny(host, " :@") || host == "localhost"
}

func validateRequest(path string, r Request, rule refRule, errs *[]FieldError) {
	add := func(field, format string, args ...any) {
		*errs = append(*errs, FieldError{Path: path + "." + field, Message: fmt.Sprintf(format, args...)})
	}
	if r.Method != "" && !slices.Contains(Methods, strings.ToUpper(r.Method)) {
		add("method", "%q is not supported (use one of %s)", r.Method, strings.Join(Methods, ", "))
	}
	if r.URL != "" {
		urlRule := rule
		urlRule.secrets, urlRule.callbackURL = false, false
		checkRefs(path+".url", r.URL, urlRule, errs)
		whole := refPattern.FindStringIndex(r.URL)
		switch {
		case whole != nil && whole[0] == 0 && whole[1] == len(r.URL):
			// the whole URL is a parameter: checked when it is rendered
		case strings.Contains(r.URL[:authorityEnd(r.URL)], "${"):
			add("url", "a parameter may not change the URL's scheme or host (make the whole URL one parameter instead)")
		default:
			probe := ReplaceRefs(r.URL, func(string) string { return "x" })
			u, err := url.Parse(probe)
			switch {
			case !strings.Contains(probe, "://") && looksLikeHost(probe):
				add("url", "has no scheme: add http:// or https:// (as in https://%s)", r.URL)
			case err != nil:
				add("url", "is not a valid URL: %v", cleanURLError(err))
			case u.Scheme != "http" && u.Scheme != "https":
				add("url", "scheme %q is not supported (use http or https)", u.Scheme)
			case u.Host == "":
				add("url", "has no host (use an absolute URL such as https://api.example.com/jobs)")
			case u.User != nil:
				add("url", "must not carry credentials (use auth with a ${secret.NAME} reference)")
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Query)) {
		checkRefs(path+".query."+k, r.Query[k], rule, errs)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
		v := r.Headers[k]
		hp := path + ".headers." + k
		switch {
		case !validHeaderName(k):
			*errs = append(*errs, FieldError{hp, "is not a valid header name"})
		case strings.ContainsAny(v, "\r\n"):
			*errs = append(*errs, FieldError{hp, "value must not contain CR or LF"})
		case IsSensitiveHeader(k) && len(SecretNames(v)) == 0:
			example, name := "Bearer ${secret.API_TOKEN}", "API_TOKEN"
			if c := textproto.CanonicalMIMEHeaderKey(k); c == "Cookie" || c == "Set-Cookie" {
				example, name = "session=${secret.SESSION_COOKIE}", "SESSION_COOKIE"
			} else if c != "Authorization" && c != "Proxy-Authorization" {
				example, name = "${secret.API_KEY}", "API_KEY"
			}
			*errs = append(*errs, FieldError{hp, fmt.Sprintf("carries a credential as a literal value, which would be stored in workflow history; write a reference such as %q and set HTTPNODE_SECRET_%s on the worker, bound to its hosts with HTTPNODE_SECRET_%s_HOSTS", example, name, name)})
		}
		checkRefs(hp, v, rule, errs)
	}
	if r.Auth != nil {
		validateAuth(path+".auth", *r.Auth, errs)
	}
	validateBody(path, r, rule, errs)
	if r.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	for i, p := range r.SuccessStatus {
		if _, err := parseStatusPattern(p); err != nil {
			add("successStatus["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.ErrorMessages)) {
		if _, err := parseStatusPattern(k); err != nil {
			add("errorMessages."+k, "key %v", err)
		}
	}
	if r.TLS != nil {
		validateTLS(path+".tls", *r.TLS, errs)
	}
	if r.Proxy != "" {
		if u, err := url.Parse(r.Proxy); err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "socks5"}, u.Scheme) {
			add("proxy", "%q is not a proxy URL (use http://host:port, https://host:port or socks5://host:port)", r.Proxy)
		}
	}
	if r.MaxRedirects < 0 || r.MaxRedirects > MaxRedirectsLimit {
		add("maxRedirects", "%d is out of range (use 1 to %d; 0 means %d)", r.MaxRedirects, MaxRedirectsLimit, DefaultMaxRedirects)
	} else if r.MaxRedirects > 0 && !r.FollowRedirects {
		add("maxRedirects", "has no effect without followRedirects: true")
	}
	*errs = append(*errs, r.size().Problems(path)...)
	validateSign(path, r.Sign, errs)
	if r.MaxResponseBytes < 0 || r.MaxResponseBytes > MaxResponseBytesLimit {
		add("maxResponseBytes", "%d is out of range (use 1 to %d; larger bodies do not belong in workflow history)", r.MaxResponseBytes, MaxResponseBytesLimit)
	}
}

// validateTLS checks a request's TLS fields without touching the file
// system: secrets are single references, files are names under the
// worker's TLS directory.
func validateTLS(path string, t TLS, errs *[]FieldError) {
	add := func(field, msg string) { *errs = append(*errs, FieldError{Path: path + field, Message: msg}) }
	for _, f := range []struct{ field, v, example string }{{"ca", t.CA, "PARTNER_CA"}, {"cert", t.Cert, "CLIENT_CERT"}, {"key", t.Key, "CLIENT_KEY"}} {
		if f.v == "" {
			continue
		}
		if !isSingleSecretRef(f.v) {
			add("."+f.field, "must be one secret reference such as ${secret."+f.example+"} (the secret holds the PEM text)")
			continue
		}
		checkRefs(path+"."+f.field, f.v, refRule{secrets: true}, errs)
	}
	for _, f := range []struct{ field, v string }{{"caFile", t.CAFile}, {"certFile", t.CertFile}, {"keyFile", t.KeyFile}} {
		if f.v != "" && !LocalTLSFile(f.v) {
			add("."+f.field, "must name a file in the worker's TLS directory (--tls-dir), relative to it, such as \"partner/ca.pem\": no other path on the worker can be used (or put the PEM in a secret and write \"ca\", \"cert\" or \"key\": \"${secret.NAME}\")")
		}
	}
	switch {
	case t.CA != "" && t.CAFile != "":
		add("", "give ca (a secret) or caFile (a file under --tls-dir), not both")
	case (t.Cert == "") != (t.Key == ""):
		add("", "cert and key go together (give both secrets for a client certificate, or neither)")
	case (t.CertFile == "") != (t.KeyFile == ""):
		add("", "certFile and keyFile go together (give both for a client certificate, or neither)")
	case t.Cert != "" && t.CertFile != "":
		add("", "give cert and key (secrets) or certFile and keyFile (files under --tls-dir), not both")
	}
}

// LocalTLSFile reports whether name can name a file in the worker's TLS
// directory: a relative path that stays inside it ("partner/ca.pem"), with
// forward slashes. It is decided on the text alone.
func LocalTLSFile(name string) bool {
	return name != "" && !strings.ContainsAny(name, "\\\x00") && filepath.IsLocal(name) && path.Clean(name) == name
}

func validateAuth(path string, a Auth, errs *[]FieldError) {
	add := func(field, msg string) { *errs = append(*errs, FieldError{Path: path + field, Message: msg}) }
	secretField := func(field, v, example string) {
		switch {
		case v == "":
			add("."+field, "is required for auth type "+a.Type+" (write a reference such as ${secret."+example+"})")
		case !isSingleSecretRef(v):
			add("."+field, "must be a secret reference such as ${secret."+example+"}, not a literal value: the node is stored in workflow history; set HTTPNODE_SECRET_"+example+" on the worker, bound to its hosts with HTTPNODE_SECRET_"+example+"_HOSTS")
		}
	}
	switch a.Type {
	case "bearer":
		secretField("token", a.Token, "API_TOKEN")
	case "basic":
		if a.Username == "" {
			add(".username", "is required for auth type basic")
		}
		checkRefs(path+".username", a.Username, refRule{secrets: true}, errs)
		secretField("password", a.Password, "API_PASSWORD")
	case "apiKey":
		secretField("key", a.Key, "API_KEY")
		if a.Name != "" && !validHeaderName(a.Name) {
			add(".name", fmt.Sprintf("%q is not a valid header or parameter name", a.Name))
		}
		if !slices.Contains([]string{"", "header", "query"}, a.In) {
			add(".in", fmt.Sprintf("%q is not allowed (use \"header\" or \"query\")", a.In))
		}
	default:
		add(".type", fmt.Sprintf("%q is not supported (use \"bearer\", \"basic\" or \"apiKey\")", a.Type))
	}
}

func validateBody(path string, r Request, rule refRule, errs *[]FieldError) {
	add := func(msg string) { *errs = append(*errs, FieldError{Path: path + ".body", Message: msg}) }
	if len(r.Body) == 0 {
		if r.BodyType != "" && !slices.Contains([]string{BodyJSON, BodyForm, BodyRaw}, r.BodyType) {
			*errs = append(*errs, FieldError{path + ".bodyType", fmt.Sprintf("%q is not supported (use \"json\", \"form\" or \"raw\")", r.BodyType)})
		}
		return
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		add("is not valid JSON")
		return
	}
	switch r.BodyType {
	case "", BodyJSON:
	case BodyForm:
		obj, ok := v.(map[string]any)
		if !ok {
			add("must be an object of strings, numbers or booleans for bodyType form")
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			switch obj[k].(type) {
			case string, float64, bool:
			default:
				*errs = append(*errs, FieldError{path + ".body." + k, "must be a string, number or boolean for bodyType form"})
			}
		}
	case BodyRaw:
		if _, ok := v.(string); !ok {
			add("must be a JSON string for bodyType raw (the text sent as is)")
		}
	default:
		*errs = append(*errs, FieldError{path + ".bodyType", fmt.Sprintf("%q is not supported (use \"json\", \"form\" or \"raw\")", r.BodyType)})
	}
	bodyRule := rule
	bodyRule.secrets = false
	walkStrings(v, func(s string) { checkRefs(path+".body", s, bodyRule, errs) })
}

// walkStrings calls fn for every string value in a decoded JSON value.
func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			walkStrings(x[k], fn)
		}
	}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 127 || !(c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

func cleanURLError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}
