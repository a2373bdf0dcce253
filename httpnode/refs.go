package httpnode

import (
	"regexp"
	"strings"
)

// TaskIDRef is the placeholder for the task id in callback fields.
const TaskIDRef = "${taskId}"

var (
	refPattern        = regexp.MustCompile(`\$\{([^}]*)\}`)
	secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// SecretRef returns the reference text for a secret name: ${secret.NAME}.
func SecretRef(name string) string { return "${secret." + name + "}" }

// SecretNames returns the names of the secrets s refers to, in order.
func SecretNames(s string) []string {
	var names []string
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		if name, ok := strings.CutPrefix(m[1], "secret."); ok {
			names = append(names, name)
		}
	}
	return names
}

// ReplaceRefs replaces every ${...} reference in s with fn(ref), where ref is
// the text between the braces (e.g. "secret.TOKEN", "taskId").
func ReplaceRefs(s string, fn func(ref string) string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return refPattern.ReplaceAllStringFunc(s, func(m string) string { return fn(m[2 : len(m)-1]) })
}

// refRule says which references a field may hold.
type refRule struct {
	secrets bool // ${secret.NAME}
	taskID  bool // ${taskId}
}

// checkRefs reports references the field may not hold.
func checkRefs(path, s string, rule refRule, errs *[]FieldError) {
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		ref := m[1]
		switch name, isSecret := strings.CutPrefix(ref, "secret."); {
		case isSecret && !rule.secrets:
			*errs = append(*errs, FieldError{path, "a secret reference is not allowed here (put credentials in auth, headers or query, where they are masked)"})
		case isSecret && !secretNamePattern.MatchString(name):
			*errs = append(*errs, FieldError{path, "secret name " + `"` + name + `"` + " is not valid (use letters, digits and _, as in ${secret.API_TOKEN})"})
		case ref == "taskId" && !rule.taskID:
			*errs = append(*errs, FieldError{path, "${taskId} is only available in callback fields"})
		case !isSecret && ref != "taskId":
			*errs = append(*errs, FieldError{path, "unknown parameter ${" + ref + "} (available here:" + available(rule) + ")"})
		}
	}
}

func available(rule refRule) string {
	s := ""
	if rule.secrets {
		s += " ${secret.NAME}"
	}
	if rule.taskID {
		s += " ${taskId}"
	}
	if s == "" {
		s = " none"
	}
	return s
}

// isSingleSecretRef reports whether s is exactly one ${secret.NAME}.
func isSingleSecretRef(s string) bool {
	names := SecretNames(s)
	return len(names) == 1 && s == SecretRef(names[0])
}

// RedactURL drops the query (it may carry keys) from a URL shown in
// messages, logs and summaries.
func RedactURL(s string) string {
	base, _, _ := strings.Cut(s, "?")
	return base
}
