package httpnode

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPollHeartbeat(t *testing.T) {
	for _, c := range []struct{ interval, every, timeout time.Duration }{
		{time.Second, 10 * time.Second, 20 * time.Second},
		{30 * time.Second, 30 * time.Second, 40 * time.Second},
		{5 * time.Minute, time.Minute, 70 * time.Second},
	} {
		every, timeout := PollHeartbeat(c.interval)
		require.Equal(t, c.every, every, c.interval)
		require.Equal(t, c.timeout, timeout, c.interval)
	}
}

// decodeCallback decodes a node with the given callback fields.
func decodeCallback(t *testing.T, fields string) Node {
	t.Helper()
	n, err := Decode([]byte(`{"request": {"url": "https://x.example"}, "callback": {"url": "https://x.example/s"` + fields + `}}`))
	require.NoError(t, err)
	return n
}

func TestAutoMode(t *testing.T) {
	crossover := AutoRetryFrom()
	require.Greater(t, crossover, MaxPollHeartbeat, "retry mode pays only once polls are rarer than activity mode's slowest heartbeats")
	for _, c := range []struct{ fields, want string }{
		{``, ModeActivity}, // every 10s for up to 24h
		{`, "interval": "1s"`, ModeActivity},
		{`, "interval": "` + (crossover - time.Second).String() + `"`, ModeActivity},
		{`, "interval": "` + crossover.String() + `"`, ModeRetry},
		{`, "interval": "1h"`, ModeRetry},
		{`, "interval": "10s", "backoff": "exponential"`, ModeRetry}, // it waits mostly at maxInterval, 1h
		{`, "interval": "10s", "backoff": "linear", "maxInterval": "1m"`, ModeActivity},
		{`, "maxPolls": 2`, ModeTimer},
		{`, "maxPolls": 3`, ModeActivity},
		{`, "interval": "1h", "deadline": "2h"`, ModeTimer}, // 2 polls at most
	} {
		n := decodeCallback(t, `, "mode": "auto"`+c.fields)
		require.Equal(t, c.want, n.WithDefaults().Callback.Mode, c.fields)
		require.Equal(t, c.want, decodeCallback(t, c.fields).WithDefaultsFor(ModeAuto).Callback.Mode, "the worker's auto picks alike: %s", c.fields)
	}
}

// AutoMode picks the way that costs the server less an hour, by the
// measured costs: check the pick against the costs on both sides of the
// crossover.
func TestAutoModePicksTheCheaperWay(t *testing.T) {
	perHour := func(every, cost time.Duration) time.Duration {
		return time.Duration(float64(time.Hour) / float64(every) * float64(cost))
	}
	for _, every := range []time.Duration{time.Second, 10 * time.Second, time.Minute, 2 * time.Minute, 3 * time.Minute, 5 * time.Minute, time.Hour} {
		beat, _ := PollHeartbeat(every)
		activity, retry := perHour(beat, ServerCPUHeartbeat), perHour(every, ServerCPURetryTry)
		want := ModeActivity
		if retry <= activity {
			want = ModeRetry
		}
		n := decodeCallback(t, `, "mode": "auto", "interval": "`+every.String()+`"`)
		require.Equal(t, want, n.WithDefaults().Callback.Mode, "every %s: activity %s, retry %s of server CPU an hour", every, activity, retry)
	}
}

func TestWithDefaultsFor(t *testing.T) {
	none := decodeCallback(t, ``)
	require.Equal(t, ModeTimer, none.WithDefaults().Callback.Mode)
	require.Equal(t, ModeTimer, none.WithDefaultsFor("").Callback.Mode)
	require.Equal(t, ModeRetry, none.WithDefaultsFor(ModeRetry).Callback.Mode)
	activity := none.WithDefaultsFor(ModeActivity).Callback
	require.Equal(t, ModeActivity, activity.Mode)
	require.Equal(t, Duration(MinActivityPollInterval), activity.MinInterval, "the floor of the mode it waits in")
	own := decodeCallback(t, `, "mode": "timer"`)
	require.Equal(t, ModeTimer, own.WithDefaultsFor(ModeActivity).Callback.Mode, "the node's own mode wins")
}

func TestCheckDefaultWaitMode(t *testing.T) {
	for _, m := range DefaultWaitModes {
		require.NoError(t, CheckDefaultWaitMode(m))
	}
	for _, m := range []string{"", "push", "location", "Timer"} {
		require.ErrorContains(t, CheckDefaultWaitMode(m), "(use timer, activity, retry or auto)", m)
	}
}

func TestValidate_AutoModeNeedsAURL(t *testing.T) {
	_, err := Decode([]byte(`{"request": {"url": "https://x.example"}, "callback": {"mode": "auto"}}`))
	require.ErrorContains(t, err, "callback.url: is required when callback is set")
}
