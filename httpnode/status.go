package httpnode

import (
	"fmt"
	"strconv"
	"strings"
)

// statusRange is one successStatus / errorMessages pattern as a code range.
type statusRange struct{ lo, hi int }

// parseStatusPattern reads "201", "2xx" or "200-299".
func parseStatusPattern(p string) (statusRange, error) {
	p = strings.TrimSpace(strings.ToLower(p))
	if len(p) == 3 && strings.HasSuffix(p, "xx") {
		d := int(p[0] - '0')
		if d < 1 || d > 5 {
			return statusRange{}, badPattern(p)
		}
		return statusRange{d * 100, d*100 + 99}, nil
	}
	lo, hi, isRange := strings.Cut(p, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
		return statusRange{}, badPattern(p)
	}
	return statusRange{a, b}, nil
}

func badPattern(p string) error {
	return fmt.Errorf("%q is not a status pattern (use a code such as \"201\", a class such as \"2xx\" or a range such as \"200-299\")", p)
}

// StatusMatches reports whether code matches one of the patterns. Invalid
// patterns never match (Validate rejects them).
func StatusMatches(patterns []string, code int) bool {
	for _, p := range patterns {
		if r, err := parseStatusPattern(p); err == nil && code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// ErrorMessageFor returns the configured message for code: an exact code
// wins over a class or range. ok is false when none is configured.
func ErrorMessageFor(messages map[string]string, code int) (msg string, ok bool) {
	if m, ok := messages[strconv.Itoa(code)]; ok {
		return m, true
	}
	best := -1
	for p, m := range messages {
		r, err := parseStatusPattern(p)
		if err != nil || code < r.lo || code > r.hi {
			continue
		}
		if width := r.hi - r.lo; best < 0 || width < best || (width == best && m < msg) {
			best, msg = width, m
		}
	}
	return msg, best >= 0
}
