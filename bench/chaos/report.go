package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/httpnode/httpnode/httpnode"
)

// invariant is one checked property: how many nodes hold it, and the first
// few that do not.
type invariant struct {
	name     string
	ok, of   int
	failures []string
	note     string
}

func (iv *invariant) check(holds bool, format string, args ...any) {
	iv.of++
	if holds {
		iv.ok++
		return
	}
	if len(iv.failures) < 5 {
		iv.failures = append(iv.failures, fmt.Sprintf(format, args...))
	}
}

func report(ctx context.Context, out io.Writer, o options, c client.Client, nodes []*planned, rec *recorder, k *kills, dir string, took time.Duration) error {
	terminal := &invariant{name: "every node terminal"}
	outcome := &invariant{name: "outcome equals the job service's truth"}
	oneKey := &invariant{name: "one idempotency key per node attempt"}
	tries := &invariant{name: "main-request deliveries <= tries"}
	notify := &invariant{name: "a node's notifications share one webhook-id"}
	var latencies, redelivered []time.Duration
	byKind := map[string][]time.Duration{}
	results := make([]error, len(nodes))
	res := make([]httpnode.Result, len(nodes))
	for i, n := range nodes {
		results[i] = getResult(ctx, n.run, &res[i])
	}
	maxDeliveries, notifications := 0, 0
	ids := rec.notificationIDs() // every node has ended: its notification came before
	for i, n := range nodes {
		res, err := res[i], results[i]
		terminal.check(err == nil, "%s: %v", n.id, err)
		if err != nil {
			continue
		}
		want := httpnode.StatusSucceeded
		if n.outcome != "SUCCESS" {
			want = httpnode.StatusFailed
		}
		outcome.check(res.Status == want, "%s (%s): %s, the job %s", n.id, n.kind, res.Status, n.outcome)
		subs := rec.deliveries(n.id)
		keys := map[string]bool{}
		for _, s := range subs {
			keys[s.key] = true
		}
		oneKey.check(len(keys) == 1, "%s: %d keys over %d deliveries", n.id, len(keys), len(subs))
		attempts, closed, herr := history(ctx, c, n.id)
		tries.check(herr == nil && len(subs) <= attempts, "%s: %d deliveries, %d tries (%v)", n.id, len(subs), attempts, herr)
		maxDeliveries = max(maxDeliveries, len(subs))
		if len(subs) > 1 { // a try lost with its worker: how long until the next came
			redelivered = append(redelivered, subs[1].at.Sub(subs[0].at))
		}
		wids := slices.Compact(slices.Sorted(slices.Values(ids[n.id])))
		notify.check(len(wids) == 1, "%s: webhook-ids %q", n.id, wids)
		notifications += len(ids[n.id])
		if len(subs) > 0 && !closed.IsZero() {
			jobDone := subs[0].at.Add(time.Duration(n.seconds) * time.Second)
			latencies = append(latencies, max(closed.Sub(jobDone), 0))
			byKind[n.kind] = append(byKind[n.kind], max(closed.Sub(jobDone), 0))
		}
	}
	tries.note = fmt.Sprintf("at most %d deliveries of one node", maxDeliveries)
	notify.note = fmt.Sprintf("%d notifications", notifications)
	noPanic := &invariant{name: "no panic in any log"}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		n := panics(f)
		f.Close()
		noPanic.check(n == 0, "%s: %d lines", filepath.Base(l), n)
	}

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "chaos run\t%d nodes, %d workers, store %s, %s, seed %d\n", len(nodes), o.workers, o.store, took.Round(time.Second), o.seed)
	fmt.Fprintf(w, "kills\tworkers %d (%d SIGKILL, %d SIGTERM), server %d\n", k.sigkill+k.sigterm, k.sigkill, k.sigterm, k.server)
	fmt.Fprintln(w, "invariant\tresult")
	broken := 0
	for _, iv := range []*invariant{terminal, outcome, oneKey, tries, notify, noPanic} {
		verdict := fmt.Sprintf("%d/%d ok", iv.ok, iv.of)
		if iv.ok != iv.of {
			verdict = fmt.Sprintf("%d/%d BROKEN: %s", iv.ok, iv.of, strings.Join(iv.failures, "; "))
			broken++
		}
		if iv.note != "" {
			verdict += " (" + iv.note + ")"
		}
		fmt.Fprintf(w, "%s\t%s\n", iv.name, verdict)
	}
	fmt.Fprintf(w, "main request lost, sent again after\t%s\n", percentiles(redelivered))
	fmt.Fprintf(w, "job done -> node done\t%s\n", percentiles(latencies))
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		fmt.Fprintf(w, "  %s mode\t%s\n", kind, percentiles(byKind[kind]))
	}
	_ = w.Flush()
	if broken > 0 {
		return fmt.Errorf("%d invariant(s) broken", broken)
	}
	return nil
}

// getResult waits for the node's result, across the server's restarts.
func getResult(ctx context.Context, run client.WorkflowRun, res *httpnode.Result) error {
	for {
		err := run.Get(ctx, res)
		var unavailable *serviceerror.Unavailable
		if err == nil || ctx.Err() != nil || !errors.As(err, &unavailable) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// history returns the tries of the node's main request (the attempt of its
// SendRequest's last start) and when the node closed.
func history(ctx context.Context, c client.Client, id string) (attempts int, closed time.Time, err error) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	sendRequest := map[int64]bool{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, time.Time{}, err
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "SendRequest" {
			sendRequest[e.GetEventId()] = true
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil && sendRequest[a.GetScheduledEventId()] {
			attempts += int(a.GetAttempt())
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED || e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED {
			closed = e.GetEventTime().AsTime()
		}
	}
	return attempts, closed, nil
}

// percentiles is "p50 …, p99 …, max …" of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration {
		return ds[min(int(p*float64(len(ds))), len(ds)-1)].Round(10 * time.Millisecond)
	}
	return fmt.Sprintf("p50 %s, p99 %s, max %s (%d nodes)", pct(0.5), pct(0.99), ds[len(ds)-1].Round(10*time.Millisecond), len(ds))
}
