package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/internal/callbackurl"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/internal/receiver"
	"github.com/httpnode/httpnode/workflows"
)

// callbackLatency measures the time from a job finishing to its node
// completing (the result in the client's hands), for nodes told by a push
// and for nodes polling every 1 s, one node at a time, each job finishing at
// a random moment of its node's wait.
func callbackLatency(ctx context.Context, c client.Client, o options, t *table) error {
	if o.latency <= 0 {
		return nil
	}
	jobs := jobservice.New()
	defer jobs.Close()
	jobsURL, err := serve(ctx, jobs.Handler())
	if err != nil {
		return err
	}
	key := []byte(cryptoText())
	rcvURL, err := serve(ctx, (&receiver.Receiver{Client: c, Key: key}).Handler())
	if err != nil {
		return err
	}
	acts := activities.New(nil, loopbackOnly)
	acts.Callbacks = &callbackurl.Minter{Base: rcvURL, Key: key}
	const tq = "bench-latency"
	w := worker.New(c, tq, worker.Options{})
	workflows.Register(w, acts)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	nodes := map[string]string{
		"push": `{"request": {"method": "POST", "url": "` + jobsURL + `/jobs", "body": {"seconds": 3600, "callbackUrl": "${callbackUrl}"}},
			"callback": {"mode": "push"}, "retry": {"count": 0}}`,
		"poll 1s": `{"request": {"method": "POST", "url": "` + jobsURL + `/jobs", "body": {"seconds": 3600}},
			"callback": {"url": "` + jobsURL + `/status", "interval": "1s"}, "retry": {"count": 0}}`,
	}
	p50 := map[string]time.Duration{}
	for _, kind := range []string{"push", "poll 1s"} {
		var took []time.Duration
		for i := range o.latency {
			d, err := finishOne(ctx, c, jobs, tq, fmt.Sprintf("latency-%s-%d-%d", kind[:4], time.Now().UnixNano(), i), nodes[kind])
			if err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
			took = append(took, d)
		}
		slices.Sort(took)
		p50[kind] = took[len(took)/2]
		t.add("job done → node done, "+kind, fmt.Sprintf("p50 %s, p90 %s", p50[kind].Round(time.Millisecond), took[len(took)*9/10].Round(time.Millisecond)),
			fmt.Sprintf("%d nodes, one at a time", len(took)))
	}
	t.add("push latency vs polling every 1s", fmt.Sprintf("%.2f×", float64(p50["push"])/float64(p50["poll 1s"])), "p50 against p50")
	return nil
}

// finishOne starts a node, finishes its job at a random moment of the wait
// and returns how long the node took to see it.
func finishOne(ctx context.Context, c client.Client, jobs *jobservice.Service, tq, id, node string) (time.Duration, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, workflows.HTTPNodeName, json.RawMessage(node))
	if err != nil {
		return 0, err
	}
	var p workflows.Progress
	for p.Phase != workflows.PhaseWaiting {
		time.Sleep(50 * time.Millisecond)
		v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
		if err == nil {
			_ = v.Get(&p)
		}
	}
	time.Sleep(time.Second + rand.N(time.Second)) // a random phase of the poll timer
	start := time.Now()
	jobs.Finish(p.TaskID, "SUCCESS")
	if err := run.Get(ctx, nil); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func cryptoText() string { return crand.Text() }
