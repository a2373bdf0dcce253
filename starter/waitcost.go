package main

import (
	"fmt"
	"time"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// waitCost says how a valid node will wait for its job and what that costs
// the Temporal server an hour, in the calls and history events each way
// makes (see the README's Server cost for their CPU time on one server).
// Polls are counted at callback.interval; backoff and hints make fewer.
func waitCost(node httpnode.Node) string {
	cb := node.WithDefaults().Callback
	if cb == nil {
		return "no wait: the node ends with its main request"
	}
	mode := cb.Mode
	if mode == "" {
		mode = httpnode.ModeTimer
	}
	every := cb.Interval.D()
	perHour := int(time.Hour / max(every, time.Second))
	switch mode {
	case httpnode.ModeTimer, httpnode.ModeLocation:
		return fmt.Sprintf("%s mode, a poll every %s: up to %d polls an hour, each a timer, a workflow task and 6 history events (%d events an hour); every poll is in history", mode, every, perHour, 6*perHour)
	case httpnode.ModeActivity:
		beat, timeout := activities.PollHeartbeat(every)
		return fmt.Sprintf("activity mode, a poll every %s inside one activity: no history event per poll, a heartbeat every %s (%d an hour), an activity slot of the worker held for the whole wait; a lost worker's wait resumes after %s", every, beat, int(time.Hour/beat), timeout)
	case httpnode.ModeRetry:
		return fmt.Sprintf("retry mode, a poll every %s by one activity's retries: up to %d activity tries an hour, no history event per poll, no worker slot held between polls", every, perHour)
	case httpnode.ModePush:
		return "push mode: no polls; each pushed callback is an update (5 history events)"
	}
	return fmt.Sprintf("push+poll mode: each pushed callback is an update (5 history events), and a safety-net poll every %s: up to %d an hour, each a workflow task and 6 history events", every, perHour)
}
