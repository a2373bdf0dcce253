package httpnode

import (
	"fmt"
	"maps"
	"net/textproto"
	"net/url"
	"slices"
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
	n.validateTop(&errs)
	pushed := n.Callback != nil && n.Callback.Pushed()
	validateRequest("request", n.Request, refRule{secrets: true, callbackURL: pushed}, &errs)
	validateRules("request", n.Request, &errs)
	if n.Callback != nil {
		n.Callback.validate(n.Request, &errs)
		if n.Callback.Mode == ModeLocation && len(n.Outputs) > 0 {
			errs = append(errs, FieldError{"outputs", "are not computed in mode \"location\" yet (they are in every other mode, and without a callback)"})
		}
	}
	validateOutputs(n.Outputs, &errs)
	if n.Notify != nil {
		validateNotify(*n.Notify, &errs)
	}
	if c := n.Cancel; c != nil {
		if c.URL == "" {
			errs = append(errs, FieldError{"cancel.url", "is required when cancel is set (e.g. https://api.example.com/jobs/${taskId} with method DELETE)"})
		}
		validateRequest("cancel", *c, refRule{secrets: true, taskID: true}, &errs)
		noRules("cancel", *c, &errs)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs}
}

// validateTop checks the node's own fields: run status, failure mode,
// timeout, parameters, scheduled time, retry, and that it has a URL.
func (n Node) validateTop(errs *[]FieldError) {
	add := adder(errs)
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
	if n.Retry != nil {
		if c := n.Retry.Count; c != nil && (*c < 0 || *c > 100) {
			add("retry.count", "%d is out of range (use 0 to 100; 0 disables retries)", *c)
		}
		if n.Retry.Interval < 0 {
			add("retry.interval", "must not be negative")
		}
	}
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

// adder appends problems to errs: add(path, format, args...).
func adder(errs *[]FieldError) func(path, format string, args ...any) {
	return func(path, format string, args ...any) {
		*errs = append(*errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
}

// noRules refuses response rules and storeBody on a request whose response
// nobody judges by them or keeps (notify, cancel).
func noRules(path string, r Request, errs *[]FieldError) {
	if r.SuccessWhen != "" || len(r.FailWhen) > 0 {
		*errs = append(*errs, FieldError{path + ".successWhen", "successWhen and failWhen judge the main request and the callback's polls only (a " + path + " call succeeds by its successStatus)"})
	}
	if r.StoreBody {
		*errs = append(*errs, FieldError{path + ".storeBody", "only the main request's and the callback's bodies go to the body store (a " + path + " call's response is not kept whole)"})
	}
}
