package httpnode

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Macro is a time macro in the syntax of scheduling systems: a date pattern
// (yyyyMMdd, yyyy-MM-dd, HH:mm:ss, yyyyMMddHHmmss, ...) or "timestamp" /
// "timestamp_ms", with an optional offset such as -1d, +2h or -1M.
type Macro struct {
	Pattern string // the date pattern, or "timestamp" / "timestamp_ms"
	Offset  int
	Unit    byte // y, M, w, d, H (h is read as H), m; 0 without offset
}

const (
	patternLetters    = "yMdHhmsS"
	patternSeparators = "-:/ ._T"
	offsetUnits       = "yMwdHhm"
)

var macroOffset = regexp.MustCompile(`^(.+?)([+-]\d{1,6})([A-Za-z]*)$`)

// parseMacro reads a reference as a time macro. isMacro is false for
// references that are not macros (parameter names); err is set for a macro
// with a bad offset or pattern.
func parseMacro(ref string) (m Macro, isMacro bool, err error) {
	base, offset, unit := ref, "", ""
	if g := macroOffset.FindStringSubmatch(ref); g != nil && isPattern(g[1]) {
		base, offset, unit = g[1], g[2], g[3]
	}
	if !isPattern(base) {
		return Macro{}, false, nil
	}
	m.Pattern = base
	if base != "timestamp" && base != "timestamp_ms" {
		if err := checkPattern(base); err != nil {
			return m, true, fmt.Errorf("bad time macro ${%s}: %v", ref, err)
		}
	}
	if offset != "" {
		if len(unit) != 1 || !strings.Contains(offsetUnits, unit) {
			return m, true, fmt.Errorf("bad time macro ${%s}: offset unit %q is not one of y (years), M (months), w (weeks), d (days), H (hours), m (minutes)", ref, unit)
		}
		m.Offset, _ = strconv.Atoi(offset)
		m.Unit = unit[0]
		if m.Unit == 'h' {
			m.Unit = 'H'
		}
	}
	return m, true, nil
}

// isPattern reports whether s is made of date pattern letters and separators
// (with at least one letter), or is a timestamp name.
func isPattern(s string) bool {
	if s == "timestamp" || s == "timestamp_ms" {
		return true
	}
	letters := 0
	for _, c := range s {
		switch {
		case strings.ContainsRune(patternLetters, c):
			letters++
		case !strings.ContainsRune(patternSeparators, c):
			return false
		}
	}
	return letters > 0
}

// checkPattern rejects runs that have no meaning, such as "yyy" or "MMM".
func checkPattern(p string) error {
	for _, run := range patternRuns(p) {
		if !strings.ContainsRune(patternLetters, rune(run[0])) {
			continue
		}
		n, c := len(run), run[0]
		ok := (c == 'y' && (n == 2 || n == 4)) || (c == 'S' && n <= 3) || (c != 'y' && c != 'S' && n <= 2)
		if !ok {
			return fmt.Errorf("%q is not a pattern (use yyyy or yy, MM, dd, HH, hh, mm, ss, SSS)", run)
		}
	}
	return nil
}

// patternRuns splits a pattern into runs of the same character.
func patternRuns(p string) []string {
	var runs []string
	for i := 0; i < len(p); {
		j := i
		for j < len(p) && p[j] == p[i] {
			j++
		}
		runs = append(runs, p[i:j])
		i = j
	}
	return runs
}

// At returns the macro's value for time t (already in the node's time zone).
func (m Macro) At(t time.Time) string {
	t = m.shift(t)
	switch m.Pattern {
	case "timestamp":
		return strconv.FormatInt(t.Unix(), 10)
	case "timestamp_ms":
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	var b strings.Builder
	for _, run := range patternRuns(m.Pattern) {
		n := len(run)
		pad := func(v int) { fmt.Fprintf(&b, "%0*d", n, v) }
		switch run[0] {
		case 'y':
			if n == 2 {
				pad(t.Year() % 100)
			} else {
				pad(t.Year())
			}
		case 'M':
			pad(int(t.Month()))
		case 'd':
			pad(t.Day())
		case 'H':
			pad(t.Hour())
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(h)
		case 'm':
			pad(t.Minute())
		case 's':
			pad(t.Second())
		case 'S':
			ms := t.Nanosecond() / int(time.Millisecond)
			b.WriteString(fmt.Sprintf("%03d", ms)[:n])
		default:
			b.WriteString(run)
		}
	}
	return b.String()
}

// shift applies the offset: years, months, weeks and days on the calendar
// (the wall-clock time stays, across DST too; a month end clamps to the
// shorter month's last day), hours and minutes as elapsed time.
func (m Macro) shift(t time.Time) time.Time {
	switch m.Unit {
	case 'y':
		return addMonths(t, 12*m.Offset)
	case 'M':
		return addMonths(t, m.Offset)
	case 'w':
		return t.AddDate(0, 0, 7*m.Offset)
	case 'd':
		return t.AddDate(0, 0, m.Offset)
	case 'H':
		return t.Add(time.Duration(m.Offset) * time.Hour)
	case 'm':
		return t.Add(time.Duration(m.Offset) * time.Minute)
	}
	return t
}

func addMonths(t time.Time, n int) time.Time {
	months := t.Year()*12 + int(t.Month()) - 1 + n
	y, mo := months/12, time.Month(months%12+1)
	if months < 0 { // not reached for real dates; keeps the arithmetic total
		y, mo = (months-11)/12, time.Month((months%12+12)%12+1)
	}
	last := time.Date(y, mo+1, 0, 0, 0, 0, 0, t.Location()).Day()
	return time.Date(y, mo, min(t.Day(), last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}
