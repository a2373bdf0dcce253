package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// RequestHeartbeatTimeout is the heartbeat timeout of the activities that
// send one request (the main request, a notification, the cancel call):
// they heartbeat while the request is in flight, so a try lost with its
// worker is retried within this, not after the request's whole
// start-to-close timeout.
const RequestHeartbeatTimeout = 10 * time.Second

// requestHeartbeatEvery is how often those activities heartbeat once a
// request has been in flight that long: a request that answers sooner
// costs no heartbeat (the heartbeat timeout runs from the start, so a lost
// try is caught all the same). The SDK sends at most one heartbeat per 0.8
// × the heartbeat timeout.
const requestHeartbeatEvery = 3 * time.Second

// heartbeatWhile heartbeats the activity of ctx, every
// requestHeartbeatEvery, until the returned stop is called; outside an
// activity (starter test) it does nothing.
func heartbeatWhile(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(requestHeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
