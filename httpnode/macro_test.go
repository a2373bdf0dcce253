package httpnode

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func render1(t *testing.T, tmpl string, at time.Time) string {
	t.Helper()
	v := &Vars{Time: at}
	var errs []FieldError
	out := v.renderString("x", tmpl, identity, &errs)
	require.Empty(t, errs, tmpl)
	return out
}

func TestTimeMacros(t *testing.T) {
	at := time.Date(2026, 3, 31, 14, 5, 9, 123456789, time.UTC)
	cases := []struct{ macro, want string }{
		{"yyyyMMdd", "20260331"},
		{"yyyy-MM-dd", "2026-03-31"},
		{"yyyy/MM/dd", "2026/03/31"},
		{"yyMMdd", "260331"},
		{"HH:mm:ss", "14:05:09"},
		{"hh:mm", "02:05"},
		{"yyyyMMddHHmmss", "20260331140509"},
		{"yyyy-MM-ddTHH:mm:ss.SSS", "2026-03-31T14:05:09.123"},
		{"yyyyMM", "202603"},
		{"M/d", "3/31"},
		{"timestamp", "1774965909"},
		{"timestamp_ms", "1774965909123"},
		// offsets, every unit
		{"yyyyMMdd-1d", "20260330"},
		{"yyyyMMdd+1d", "20260401"},
		{"yyyyMMdd-1w", "20260324"},
		{"yyyyMMdd-2w", "20260317"},
		{"yyyyMMddHHmmss-3h", "20260331110509"},
		{"yyyyMMddHHmmss-3H", "20260331110509"},
		{"yyyyMMddHHmm-90m", "202603311235"},
		{"yyyy-1y", "2025"},
		{"yyyyMMdd+1y", "20270331"},
		{"timestamp-1d", "1774879509"},
		{"timestamp_ms+1m", "1774965969123"},
		// month arithmetic clamps to the last day of the month
		{"yyyyMMdd-1M", "20260228"},
		{"yyyyMMdd+1M", "20260430"},
		{"yyyyMMdd-13M", "20250228"},
		{"yyyyMMdd+11M", "20270228"},
		{"yyyy-MM-dd-2M", "2026-01-31"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, render1(t, "${"+tc.macro+"}", at), tc.macro)
	}
}

func TestTimeMacros_LeapDaysAndYearEnds(t *testing.T) {
	leap := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	require.Equal(t, "20250228", render1(t, "${yyyyMMdd+1y}", leap), "Feb 29 plus a year clamps to Feb 28")
	require.Equal(t, "20280229", render1(t, "${yyyyMMdd+4y}", leap))
	require.Equal(t, "20240129", render1(t, "${yyyyMMdd-1M}", leap))
	require.Equal(t, "20240301", render1(t, "${yyyyMMdd+1d}", leap))
	mar31 := time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
	require.Equal(t, "20240229", render1(t, "${yyyyMMdd-1M}", mar31), "a leap year's February has 29 days")
	jan1 := time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)
	require.Equal(t, "20251231", render1(t, "${yyyyMMdd-1d}", jan1))
	require.Equal(t, "2025123123", render1(t, "${yyyyMMddHH-1h}", jan1))
	require.Equal(t, "202512", render1(t, "${yyyyMM-1M}", jan1))
}

// In a zone with daylight saving time, days move on the calendar (same wall
// clock) and hours are elapsed time.
func TestTimeMacros_DST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	// 2026-03-29: clocks go from 02:00 to 03:00 in Berlin.
	after := time.Date(2026, 3, 29, 12, 0, 0, 0, berlin)
	require.Equal(t, "2026-03-28 12:00", render1(t, "${yyyy-MM-dd HH:mm-1d}", after), "a day back keeps the wall clock")
	require.Equal(t, "2026-03-29 01:00", render1(t, "${yyyy-MM-dd HH:mm-10h}", after), "ten hours back crosses the skipped hour")
	// 2026-10-25: clocks go from 03:00 back to 02:00.
	autumn := time.Date(2026, 10, 25, 12, 0, 0, 0, berlin)
	require.Equal(t, "2026-10-24 12:00", render1(t, "${yyyy-MM-dd HH:mm-1d}", autumn))
	require.Equal(t, "2026-10-25 02:00", render1(t, "${yyyy-MM-dd HH:mm-11h}", autumn), "the repeated hour counts twice (wall clock alone would say 01:00)")
	utc := time.Date(2026, 6, 1, 22, 30, 0, 0, time.UTC)
	require.Equal(t, "20260602", render1(t, "${yyyyMMdd}", utc.In(berlin)), "the node's zone decides the date")
}

func TestTimeMacros_BadForms(t *testing.T) {
	for ref, want := range map[string]string{
		"yyyyMMdd-1q":  `offset unit "q" is not one of`,
		"yyyyMMdd-1":   `offset unit "" is not one of`,
		"yyyyMMdd+1dd": `offset unit "dd" is not one of`,
		"yyyMMdd":      `"yyy" is not a pattern`,
		"MMMdd":        `"MMM" is not a pattern`,
	} {
		_, err := parseRef(ref)
		require.ErrorContains(t, err, "bad time macro ${"+ref+"}: ", ref)
		require.ErrorContains(t, err, want, ref)
	}
	for _, name := range []string{"day", "region_1", "T"} {
		r, err := parseRef(name)
		require.NoError(t, err)
		if name == "T" {
			require.Equal(t, refParam, r.kind, "T alone is a separator, not a macro")
		} else {
			require.Equal(t, refParam, r.kind, name)
		}
	}
}
