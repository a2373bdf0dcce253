package httpnode

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func callbackWith(t *testing.T, extra Callback) Callback {
	t.Helper()
	extra.URL = "https://x.example/s"
	n := Node{Request: Request{URL: "https://x.example"}, Callback: &extra}
	require.NoError(t, n.Validate())
	return *n.WithDefaults().Callback
}

func TestNextWait_Strategies(t *testing.T) {
	s := time.Second
	cases := []struct {
		name string
		cb   Callback
		want []time.Duration // waits before polls 1..n
	}{
		{"fixed", Callback{Interval: Duration(10 * s)}, []time.Duration{10 * s, 10 * s, 10 * s}},
		{"linear", Callback{Interval: Duration(10 * s), Backoff: "linear"}, []time.Duration{10 * s, 20 * s, 30 * s, 40 * s}},
		{"exponential with cap", Callback{Interval: Duration(10 * s), Backoff: "exponential", MaxInterval: Duration(60 * s)},
			[]time.Duration{10 * s, 20 * s, 40 * s, 60 * s, 60 * s}},
		{"exponential, default cap 1h", Callback{Interval: Duration(30 * time.Minute), Backoff: "exponential"},
			[]time.Duration{30 * time.Minute, time.Hour, time.Hour}},
	}
	for _, tc := range cases {
		cb := callbackWith(t, tc.cb)
		for i, want := range tc.want {
			require.Equal(t, want, cb.NextWait(i+1, 0, "seed"), "%s: poll %d", tc.name, i+1)
		}
	}
}

func TestNextWait_HintsAreBounded(t *testing.T) {
	cb := callbackWith(t, Callback{Interval: Duration(10 * time.Second), MinInterval: Duration(5 * time.Second), MaxInterval: Duration(time.Minute)})
	require.Equal(t, 25*time.Second, cb.NextWait(1, 25*time.Second, "s"), "a hint replaces the interval")
	require.Equal(t, 5*time.Second, cb.NextWait(1, time.Second, "s"), "a hint below minInterval is raised")
	require.Equal(t, time.Minute, cb.NextWait(1, time.Hour, "s"), "a hint above maxInterval is capped")
}

func TestNextWait_JitterIsDeterministicAndBounded(t *testing.T) {
	cb := callbackWith(t, Callback{Interval: Duration(time.Minute), Jitter: true, MinInterval: Duration(2 * time.Second)})
	seen := map[time.Duration]bool{}
	for n := 1; n <= 200; n++ {
		w := cb.NextWait(n, 0, "wf/run/1")
		require.Equal(t, w, cb.NextWait(n, 0, "wf/run/1"), "the same node and poll always wait the same")
		require.GreaterOrEqual(t, w, 2*time.Second)
		require.LessOrEqual(t, w, time.Minute)
		seen[w] = true
	}
	require.Greater(t, len(seen), 150, "waits are spread")
	require.NotEqual(t, cb.NextWait(1, 0, "a"), cb.NextWait(1, 0, "b"), "nodes are spread from each other")
}

func TestParseIntervalHint(t *testing.T) {
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "1.5": 1500 * time.Millisecond, "2m": 2 * time.Minute, "soon": 0, "-3": 0, "": 0,
		"9999999999": math.MaxInt64, "1e300": math.MaxInt64} {
		require.Equal(t, want, ParseIntervalHint(in), in)
	}
}

// Delays too large for a Duration saturate instead of wrapping around to a
// short (or negative) wait.
func TestParseRetryAfter_Saturates(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"120": 2 * time.Minute, "0": 0, "-5": 0, "soon": 0, "": 0,
		"18446744074": math.MaxInt64, "9223372037": math.MaxInt64, "9223372036": 9223372036 * time.Second, "99999999999999999999999": math.MaxInt64,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second} {
		require.Equal(t, want, ParseRetryAfter(in, now), in)
	}
}

func FuzzParseHints(f *testing.F) {
	for _, s := range []string{"30", "1.5", "2m", "-3", "18446744074", "1e300", "NaN", "Inf", "Mon, 02 Jan 2006 15:04:05 GMT", "0x10"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := ParseIntervalHint(s); d < 0 {
			t.Fatalf("ParseIntervalHint(%q) = %v", s, d)
		}
		if d := ParseRetryAfter(s, now); d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v", s, d)
		}
	})
}

func TestValidate_IntervalFields(t *testing.T) {
	for field, want := range map[string]string{
		`"backoff": "random"`:                    `callback.backoff: "random" is not allowed`,
		`"minInterval": "100ms"`:                 "callback.minInterval: 100ms is below the minimum of 1s",
		`"interval": "500ms"`:                    `callback.interval: 500ms is below the minimum of 1s (Temporal timers fire no sooner; for faster polls use mode "activity")`,
		`"mode": "activity", "interval": "50ms"`: "callback.interval: 50ms is below the minimum of 100ms (the floor of activity mode)",
		`"mode": "pull"`:                         `callback.mode: "pull" is not allowed (use "timer", "activity", "retry", "auto", "push", "push+poll" or "location")`,
		`"interval": "1m", "maxInterval": "30s"`: "callback.maxInterval: 30s is below callback.interval",
		`"intervalField": "a..b"`:                `callback.intervalField: "a..b" is not a dotted path`,
	} {
		_, err := Decode([]byte(`{"request": {"url": "https://x.example"}, "callback": {"url": "https://x.example/s", ` + field + `}}`))
		require.ErrorContains(t, err, want, field)
	}
}

func TestActivityModeAllowsSubSecondPolls(t *testing.T) {
	n, err := Decode([]byte(`{"request": {"url": "https://x.example"}, "callback": {"url": "https://x.example/s", "mode": "activity", "interval": "200ms"}}`))
	require.NoError(t, err)
	cb := *n.WithDefaults().Callback
	require.Equal(t, 200*time.Millisecond, cb.NextWait(1, 0, "s"), "not stretched to a timer's second")
}
