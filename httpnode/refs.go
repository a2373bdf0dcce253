package httpnode

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// TaskIDRef is the placeholder for the task id in callback fields.
const TaskIDRef = "${taskId}"

// Built-in parameters. nodeName, workflowId and runId (the node run's first
// run) are rendered when the node starts; attempt when an attempt starts;
// taskId in callback fields when polling starts.
var Builtins = []string{"nodeName", "workflowId", "runId", "attempt", "taskId", "callbackUrl"}

// CallbackURLRef is the placeholder of the node's callback URL in push
// modes: the worker fills it in at send time (it carries a token).
const CallbackURLRef = "${callbackUrl}"

var refPattern = regexp.MustCompile(`\$\{([^}]*)\}`)

// isIdent reports whether s is letters, digits and _, not starting with a
// digit (parameter and secret names; a secret's name is safe as a file
// name). It runs for every reference of every request: no regexp.
func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

type refKind int

const (
	refParam refKind = iota
	refSecret
	refBuiltin
	refMacro
	refFlow // ${nodes.…} and ${flow.…}: a flow's data (Node.Refs)
)

type ref struct {
	kind  refKind
	name  string // the parameter, secret or built-in name
	macro Macro
}

// parseRef classifies the text between ${ and }.
func parseRef(s string) (ref, error) {
	if name, ok := strings.CutPrefix(s, "secret."); ok {
		if err := CheckSecretName(name); err != nil {
			return ref{}, err
		}
		return ref{kind: refSecret, name: name}, nil
	}
	if slices.Contains(Builtins, s) {
		return ref{kind: refBuiltin, name: s}, nil
	}
	if isFlowRef(s) {
		if _, err := parseFlowRef(s); err != nil {
			return ref{}, err
		}
		return ref{kind: refFlow, name: s}, nil
	}
	if m, isMacro, err := parseMacro(s); isMacro {
		return ref{kind: refMacro, name: s, macro: m}, err
	}
	if isIdent(s) {
		return ref{kind: refParam, name: s}, nil
	}
	return ref{}, fmt.Errorf("${%s} is not a reference (use ${name}, ${secret.NAME} or a time macro such as ${yyyyMMdd-1d})", s)
}

// ValidSecretName reports whether name can be a secret's name: letters,
// digits and _, not starting with a digit (so it is safe as a file name).
func ValidSecretName(name string) bool { return isIdent(name) }

// CheckParamName returns an error unless name can be a parameter's name:
// letters, digits and _, neither a built-in nor a time macro.
func CheckParamName(name string) error {
	if r, err := parseRef(name); err != nil || r.kind != refParam {
		return fmt.Errorf("%q is not a parameter name (use letters, digits and _; built-in names and time macros such as yyyyMMdd are taken)", name)
	}
	return nil
}

// SecretRef returns the reference text for a secret name: ${secret.NAME}.
func SecretRef(name string) string { return "${secret." + name + "}" }

// SecretNames returns the names of the secrets s refers to, in order.
func SecretNames(s string) []string {
	var names []string
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		if r, err := parseRef(m[1]); err == nil && r.kind == refSecret {
			names = append(names, r.name)
		}
	}
	return names
}

// ReplaceRefs replaces every ${...} reference in s with fn(ref), where ref is
// the text between the braces (e.g. "secret.TOKEN", "taskId").
// It scans rather than using a regular expression: it runs on every header
// and query value of every request.
func ReplaceRefs(s string, fn func(ref string) string) string {
	i := strings.Index(s, "${")
	if i < 0 {
		return s
	}
	var b strings.Builder
	for i >= 0 {
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(fn(s[i+2 : i+2+end]))
		s = s[i+2+end+1:]
		i = strings.Index(s, "${")
	}
	b.WriteString(s)
	return b.String()
}

// refRule says which references a field may hold.
type refRule struct {
	secrets     bool // ${secret.NAME}
	taskID      bool // ${taskId}
	callbackURL bool // ${callbackUrl}
}

// checkRefs reports malformed references and those the field may not hold.
func checkRefs(path, s string, rule refRule, errs *[]FieldError) {
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		r, err := parseRef(m[1])
		switch {
		case err != nil:
			*errs = append(*errs, FieldError{path, err.Error()})
		case r.kind == refSecret && !rule.secrets:
			*errs = append(*errs, FieldError{path, "a secret reference is not allowed here (put credentials in auth, headers or query, where they are masked)"})
		case r.kind == refBuiltin && r.name == "taskId" && !rule.taskID:
			*errs = append(*errs, FieldError{path, "${taskId} is only available in callback, cancel and notify fields"})
		case r.kind == refBuiltin && r.name == "callbackUrl" && !rule.callbackURL:
			*errs = append(*errs, FieldError{path, "${callbackUrl} is only available in request.query, request.headers and request.body, with callback.mode \"push\" or \"push+poll\""})
		}
	}
}

// isSingleSecretRef reports whether s is exactly one ${secret.NAME}.
func isSingleSecretRef(s string) bool {
	names := SecretNames(s)
	return len(names) == 1 && s == SecretRef(names[0])
}

// IsAbsoluteHTTP reports whether u is an absolute http or https URL with a
// host: the only kind a node may call.
func IsAbsoluteHTTP(u *url.URL) bool {
	return u != nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// RedactURL drops the query (it may carry keys) from a URL shown in
// messages, logs and summaries.
func RedactURL(s string) string {
	base, _, _ := strings.Cut(s, "?")
	return base
}
