package main

import (
	"fmt"
	"time"

	"github.com/httpnode/httpnode/httpnode"
)

// waitCost says how a valid node will wait for its job on a worker whose
// --default-wait-mode is workerMode, and what that costs the Temporal
// server an hour: the calls and history events the way makes, and their
// CPU time as measured on the reference server (see the README's Server
// cost). Polls are counted at callback.interval; backoff and hints make
// fewer.
func waitCost(node httpnode.Node, workerMode string) string {
	cb := node.WithDefaultsFor(workerMode).Callback
	if cb == nil {
		return "no wait: the node ends with its main request"
	}
	why := ""
	switch {
	case node.Callback.Mode == "":
		why = fmt.Sprintf(" (the worker's default, --default-wait-mode %s)", workerMode)
		if workerMode == httpnode.ModeAuto {
			why = " (picked by auto, the worker's --default-wait-mode)"
		}
	case node.Callback.Mode == httpnode.ModeAuto:
		why = " (picked by auto)"
	}
	every := cb.Interval.D()
	polls := time.Hour / max(every, time.Second)
	cpu := func(n time.Duration, each time.Duration) string {
		return fmt.Sprintf("≈ %s of server CPU an hour", (n * each).Round(10*time.Millisecond))
	}
	switch cb.Mode {
	case httpnode.ModeTimer, httpnode.ModeLocation:
		return fmt.Sprintf("%s mode%s, a poll every %s: up to %d polls an hour, each a timer, a workflow task and 6 history events (%d events an hour, %s); every poll is in history",
			cb.Mode, why, every, polls, 6*polls, cpu(polls, httpnode.ServerCPUTimerPoll))
	case httpnode.ModeActivity:
		beat, timeout := httpnode.PollHeartbeat(every)
		return fmt.Sprintf("activity mode%s, a poll every %s inside one activity: no history event per poll, a heartbeat every %s (%d an hour, %s), an activity slot of the worker held for the whole wait; a lost worker's wait resumes after %s",
			why, every, beat, time.Hour/beat, cpu(time.Hour/beat, httpnode.ServerCPUHeartbeat), timeout)
	case httpnode.ModeRetry:
		return fmt.Sprintf("retry mode%s, a poll every %s by one activity's retries: up to %d activity tries an hour (%s), no history event per poll, no worker slot held between polls",
			why, every, polls, cpu(polls, httpnode.ServerCPURetryTry))
	case httpnode.ModePush:
		return "push mode: no polls; each pushed callback is an update (5 history events)"
	}
	return fmt.Sprintf("push+poll mode: each pushed callback is an update (5 history events), and a safety-net poll every %s: up to %d an hour, each a workflow task and 6 history events (%s)",
		every, polls, cpu(polls, httpnode.ServerCPUTimerPoll))
}
