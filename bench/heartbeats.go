package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/workflows"
)

// The heartbeat scenario: one activity-mode node per interval polls a job
// that never ends, on a server process with a persistent store. For a
// while `describe` is read every second, which shows how often the wait
// heartbeats and how stale what it shows gets; then the worker is killed
// and another started at once, which shows how long the wait takes to
// resume, from its last heartbeat, against its heartbeat timeout.

// beatWatch is one node's record: its job's polls, and what describe
// showed of its wait.
type beatWatch struct {
	interval time.Duration
	run      client.WorkflowRun
	mu       sync.Mutex
	polls    []time.Time
	beats    []time.Time     // distinct last-heartbeat times describe showed
	stale    []time.Duration // describe's staleness: now - the last heartbeat shown, at each reading
	behind   []int           // polls made but not yet in what describe shows, at each reading
	resumed  time.Time       // when describe first showed the wait's next attempt started
	killedAt time.Time
	polled   int // heartbeat details' polls at the kill
	resumedN int // ... at the first heartbeat after the resume
}

func (w *beatWatch) onPoll(_ string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.polls = append(w.polls, at)
}

// heartbeatCadence runs the scenario and adds its rows to t.
func heartbeatCadence(ctx context.Context, o options, t *table) error {
	srv, wk, stop, err := serverAndWorker(ctx, &o, "bench-beats")
	if err != nil {
		return err
	}
	defer stop()
	var watches []*beatWatch
	for i, every := range o.beatIntervals {
		w := &beatWatch{interval: every}
		jobs := jobservice.New()
		jobs.OnPoll = w.onPoll
		url, err := serve(ctx, jobs.Handler())
		if err != nil {
			return err
		}
		node := json.RawMessage(fmt.Sprintf(`{"request": {"method": "POST", "url": "%s/jobs", "body": {"polls": 1000000}},
			"callback": {"mode": "activity", "url": "%s/status", "interval": "%s", "deadline": "2h"}, "retry": {"count": 0}}`, url, url, every))
		w.run, err = srv.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("beats-%d-%d", i, time.Now().UnixNano()), TaskQueue: "bench-beats"}, workflows.HTTPNodeName, node)
		if err != nil {
			return err
		}
		watches = append(watches, w)
	}
	read := func(now time.Time, afterKill bool) {
		for _, w := range watches {
			w.read(ctx, srv.Client, now, afterKill)
		}
	}
	fmt.Fprintf(os.Stderr, "  watching %d waits for %s\n", len(watches), o.beatWatch)
	for end := time.Now().Add(o.beatWatch); time.Now().Before(end); time.Sleep(time.Second) {
		read(time.Now(), false)
	}
	killed := time.Now()
	_ = wk.cmd.Process.Kill()
	_ = wk.cmd.Wait()
	for _, w := range watches {
		w.killedAt = killed
	}
	if wk, err = startWorker(o, "", "bench-beats"); err != nil {
		return err
	}
	defer wk.stop()
	fmt.Fprintf(os.Stderr, "  worker killed and another started; waiting for every wait to poll again\n")
	for time.Since(killed) < 2*time.Hour {
		read(time.Now(), true)
		if !slices.ContainsFunc(watches, func(w *beatWatch) bool { return w.pollAfter(killed).IsZero() || w.resumedN == 0 }) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, w := range watches {
		_ = srv.Client.TerminateWorkflow(ctx, w.run.GetID(), "", "bench over")
		w.rows(t)
	}
	return nil
}

// read takes one describe of the node's wait.
func (w *beatWatch) read(ctx context.Context, c client.Client, now time.Time, afterKill bool) {
	d, err := c.DescribeWorkflowExecution(ctx, w.run.GetID(), "")
	if err != nil || len(d.GetPendingActivities()) == 0 {
		return
	}
	pa := d.GetPendingActivities()[0]
	var st httpnode.PollState
	if pa.GetHeartbeatDetails() != nil {
		_ = converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), &st)
	}
	last := pa.GetLastHeartbeatTime().AsTime()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case afterKill && pa.GetAttempt() > 1 && pa.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED && w.resumed.IsZero():
		w.resumed = pa.GetLastStartedTime().AsTime()
	case afterKill && pa.GetAttempt() > 1 && w.resumedN == 0 && last.After(w.resumed.Add(-time.Second)) && st.Polls > 0:
		w.resumedN = st.Polls
	case !afterKill:
		w.polled = st.Polls
		if pa.GetLastHeartbeatTime() != nil && (len(w.beats) == 0 || !last.Equal(w.beats[len(w.beats)-1])) {
			w.beats = append(w.beats, last)
		}
		if len(w.beats) > 0 {
			w.stale = append(w.stale, now.Sub(last))
			w.behind = append(w.behind, max(len(w.polls)-st.Polls, 0))
		}
	}
}

// pollAfter is the first poll after t, or zero.
func (w *beatWatch) pollAfter(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.polls {
		if p.After(t) {
			return p
		}
	}
	return time.Time{}
}

func (w *beatWatch) rows(t *table) {
	period, timeout := httpnode.PollHeartbeat(w.interval)
	w.mu.Lock()
	beats, stale, behind := w.beats, slices.Clone(w.stale), slices.Clone(w.behind)
	w.mu.Unlock()
	slices.Sort(stale)
	slices.Sort(behind)
	cadence := "fewer than 2 heartbeats seen"
	if len(beats) > 1 {
		cadence = fmt.Sprintf("a heartbeat every %s (median of %d)", medianGap(beats).Round(100*time.Millisecond), len(beats)-1)
	}
	staleness := "n/a"
	if len(stale) > 0 {
		staleness = fmt.Sprintf("describe's last heartbeat p50 %s old, max %s; polls not yet shown p50 %d, max %d",
			stale[len(stale)/2].Round(100*time.Millisecond), stale[len(stale)-1].Round(100*time.Millisecond), behind[len(behind)/2], behind[len(behind)-1])
	}
	t.add(fmt.Sprintf("activity-mode wait, poll every %s", w.interval), cadence+"; "+staleness,
		fmt.Sprintf("claimed: period %s", period))
	first := w.pollAfter(w.killedAt)
	// the poll that was due first after the kill: the last poll before it plus the interval
	var due time.Time
	w.mu.Lock()
	for _, p := range w.polls {
		if p.Before(w.killedAt) {
			due = p.Add(w.interval)
		}
	}
	w.mu.Unlock()
	resume := "did not resume"
	if !w.resumed.IsZero() && !first.IsZero() {
		resume = fmt.Sprintf("next attempt started %s after the kill; first poll %s after the kill, %s after it was due; polls carried over: %d at the kill, %d after",
			w.resumed.Sub(w.killedAt).Round(time.Second), first.Sub(w.killedAt).Round(time.Second), max(first.Sub(due), 0).Round(time.Second), w.polled, w.resumedN)
	}
	t.add(fmt.Sprintf("  worker killed, poll every %s", w.interval), resume, fmt.Sprintf("claimed: within the heartbeat timeout, %s", timeout))
}

// medianGap is the median time between consecutive times.
func medianGap(ts []time.Time) time.Duration {
	var gaps []float64
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, float64(ts[i].Sub(ts[i-1])))
	}
	return time.Duration(median(gaps))
}
