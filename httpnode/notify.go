package httpnode

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Notify is the completion notification: when the node ends it POSTs a
// TaskFinish document to URL, signed when Sign is set, retried on 429 and
// 5xx. A notification that fails never changes the node's result; it is
// reported in Result.Notification. The request fields other than the
// method and body work as in Request (auth, headers, tls, proxy, ...).
type Notify struct {
	Request
	// Format is "json" (default) or "xml".
	Format string `json:"format,omitempty"`
	// On lists the end states that notify: "succeeded", "failed",
	// "timedOut", "cancelled", "skipped" (default all but "skipped"); a
	// flow's notify also "partial" (a flow's timed out, cancelled and
	// failed are its own, see FlowResult.Status).
	On []string `json:"on,omitempty"`
	// UserData and Tags are copied into the document.
	UserData string            `json:"userData,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
}

// notifyStates maps Notify.On names to node statuses.
var notifyStates = map[string]string{
	"succeeded": StatusSucceeded, "failed": StatusFailed, "timedOut": StatusTimedOut,
	"cancelled": StatusCancelled, "skipped": StatusSkipped, "partial": StatusPartial,
}

// Notifies reports whether a node that ended with status sends the
// notification.
func (n Notify) Notifies(status string) bool {
	if len(n.On) == 0 {
		return status != StatusSkipped
	}
	for _, on := range n.On {
		if notifyStates[on] == status {
			return true
		}
	}
	return false
}

func validateNotify(n Notify, errs *[]FieldError) {
	add := func(field, format string, args ...any) {
		*errs = append(*errs, FieldError{Path: "notify" + field, Message: fmt.Sprintf(format, args...)})
	}
	if n.URL == "" {
		add(".url", "is required when notify is set (where the TaskFinish document is POSTed)")
	}
	if n.Method != "" && n.Method != "POST" && n.Method != "post" {
		add(".method", "%q is not allowed (a notification is a POST)", n.Method)
	}
	if len(n.Body) > 0 || n.BodyType != "" {
		add(".body", "is not allowed (the body is the TaskFinish document; put your own data in notify.userData or notify.tags)")
	}
	if n.Format != "" && n.Format != FormatJSON && n.Format != FormatXML {
		add(".format", "%q is not supported (use \"json\" or \"xml\")", n.Format)
	}
	for i, on := range n.On {
		if _, ok := notifyStates[on]; !ok {
			add(".on["+strconv.Itoa(i)+"]", "%q is not an end state (use %s)", on, quoted(slices.Sorted(maps.Keys(notifyStates))))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(n.Tags)) {
		if k == "" {
			add(".tags", "a tag needs a name")
		}
	}
	validateRequest("notify", n.Request, refRule{secrets: true, taskID: true}, errs)
	noRules("notify", n.Request, errs)
}

func validateSign(path string, s *Sign, errs *[]FieldError) {
	if s == nil {
		return
	}
	if len(s.Secrets) == 0 {
		*errs = append(*errs, FieldError{path + ".sign.secrets", "lists no secret (write e.g. [\"${secret.WEBHOOK_SECRET}\"])"})
	}
	for i, v := range s.Secrets {
		if !isSingleSecretRef(v) {
			*errs = append(*errs, FieldError{fmt.Sprintf("%s.sign.secrets[%d]", path, i), "must be a secret reference such as ${secret.WEBHOOK_SECRET}, not a literal value: the node is stored in workflow history"})
		}
	}
}

func quoted(list []string) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ", "
		}
		out += strconv.Quote(s)
	}
	return out
}

// TaskFinishTags are the tags as a TaskFinish document lists them, sorted
// by key.
func (n Notify) TaskFinishTags() []TaskFinishTag {
	var out []TaskFinishTag
	for _, k := range slices.Sorted(maps.Keys(n.Tags)) {
		out = append(out, TaskFinishTag{Key: k, Value: n.Tags[k]})
	}
	return out
}
