package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// wait is one long wait of a node: the time before the next poll or the
// next attempt (a timer), a pushed status (a timer cut short when one
// arrives), or an activity-mode wait (the activity). The steps say what to
// wait for (nextWait, attemptEnded) and HTTPNode waits itself, so that a
// waiting node's coroutine holds only HTTPNode's frame above the SDK's.
// That keeps its stack at Go's smallest size, 8 KB: a wait made in the
// steps' deeper frames keeps it at 16 KB (measured: 8 KB more stack per
// waiting node, 9 KB more RSS; see the README). The commands are the same
// either way, in the same order.
type wait struct {
	future workflow.Future // a timer or an activity, its value decoded into out;
	out    any
	until  func() bool // or, when set: a timer of await.Timeout, cut short once until holds
	await  workflow.AwaitOptions
}

// timerWait is a wait of d, named summary in Temporal Web.
func timerWait(ctx workflow.Context, d time.Duration, summary string) *wait {
	return &wait{future: workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: summary})}
}
