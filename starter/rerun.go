package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/conn"
	"github.com/httpnode/httpnode/workflows"
)

// flowRerunCmd is "starter flow rerun <flow workflow id> --from <node id>":
// a new run of the flow that reuses the recorded results of the nodes not
// downstream of --from (SUCCEEDED and SKIPPED ones) and runs the others.
func flowRerunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("flow rerun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var co conn.Options
	co.Register(fs)
	from := fs.String("from", "", "the node to rerun from: it and every node downstream of it run again (required)")
	runID := fs.String("run-id", "", "the run to rerun (default: the workflow id's latest run)")
	file := fs.String("file", "", "a flow file to run instead of the recorded document (e.g. with a node fixed); reused nodes keep their recorded results")
	id := fs.String("id", "", "workflow id of the new run (default: <old id>-rerun-<random>)")
	taskQueue := fs.String("task-queue", workflows.TaskQueue, "task queue of the workers (HTTPNODE_TASK_QUEUE)")
	noWait := fs.Bool("no-wait", false, "start the rerun and print its ids without waiting")
	every := fs.Duration("progress-every", time.Second, "how often to ask the flow for progress")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: starter flow rerun [flags] --from <node id> <flow workflow id>")
		fs.PrintDefaults()
	}
	oldID, code := parseArgs(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if *from == "" {
		fs.Usage()
		fmt.Fprintln(stderr, "starter: --from is required: the node to rerun from")
		return exitInvalid
	}
	c, err := co.Dial(ctx, log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitUnreachable
	}
	defer c.Close()
	old, rec, code := recordOf(ctx, c, oldID, *runID, stderr)
	if code >= 0 {
		return code
	}
	f := rec.Flow
	if *file != "" {
		data, err := os.ReadFile(*file)
		if err != nil {
			fmt.Fprintln(stderr, "starter:", err)
			return exitInvalid
		}
		if f, code = loadFlow(*file, data, stderr); code >= 0 {
			return code
		}
	}
	rr, err := rerunOf(f, rec, old, *from)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitInvalid
	}
	f.Rerun = rr
	if err := f.Validate(); err != nil {
		printProblems(stderr, "the rerun", err)
		return exitInvalid
	}
	reused := slices.Sorted(maps.Keys(rr.Reuse))
	fmt.Fprintf(stderr, "rerun of %s (run %s) from %s: reusing %d node(s): %s\n", old.WorkflowID, old.RunID, *from, len(reused), orDefault(strings.Join(reused, ", "), "none"))
	if *id == "" {
		*id = rerunID(old.WorkflowID)
	}
	opts := client.StartWorkflowOptions{
		ID: *id, TaskQueue: *taskQueue,
		Memo:          map[string]any{"rerunOf": old.WorkflowID + "/" + old.RunID, "rerunFrom": *from, "reused": reused},
		StaticSummary: fmt.Sprintf("flow %s · rerun of %s from %s · %d nodes reused", orDefault(f.Name, old.WorkflowID), old.WorkflowID, *from, len(reused)),
	}
	return runFlow(ctx, c, f, opts, *noWait, *every, stdout, stderr)
}

// recordOf reads an ended flow run's record (workflows.RecordQuery; the
// worker answers it for a closed run by replaying its history).
func recordOf(ctx context.Context, c client.Client, id, runID string, stderr io.Writer) (httpnode.FlowRunRef, workflows.NodeRecord, int) {
	var rec workflows.NodeRecord
	info, code := describeFlow(ctx, c, id, runID, "rerun (run a node again with starter run)", stderr)
	if code >= 0 {
		return httpnode.FlowRunRef{}, rec, code
	}
	ref := httpnode.FlowRunRef{WorkflowID: id, RunID: info.GetExecution().GetRunId()}
	if info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		fmt.Fprintf(stderr, "starter: the flow %s is still running: wait for it to end, or cancel it (temporal workflow cancel -w %s), then rerun\n", id, id)
		return ref, rec, exitInvalid
	}
	v, err := c.QueryWorkflow(ctx, id, ref.RunID, workflows.RecordQuery)
	if err == nil {
		err = v.Get(&rec)
	}
	if err != nil {
		fmt.Fprintf(stderr, "starter: cannot read the results of %s (a worker on its task queue answers this): %v\n", id, err)
		return ref, rec, exitFailed
	}
	return ref, rec, -1
}

// rerunOf is the rerun block of a rerun of f from node from: the recorded
// SUCCEEDED and SKIPPED nodes that are not from or downstream of it.
func rerunOf(f httpnode.Flow, rec workflows.NodeRecord, old httpnode.FlowRunRef, from string) (*httpnode.FlowRerun, error) {
	var ids []string
	for _, n := range f.Nodes {
		ids = append(ids, n.ID)
	}
	if !slices.Contains(ids, from) {
		return nil, fmt.Errorf("--from %q is not a node of the flow (its nodes: %s)", from, strings.Join(ids, ", "))
	}
	again := f.RerunSet(from)
	rr := &httpnode.FlowRerun{Of: old, From: from, Reuse: map[string]httpnode.ReusedNode{}}
	for _, id := range ids {
		n, ok := rec.Nodes[id]
		if ok && !slices.Contains(again, id) && (n.Status == httpnode.StatusSucceeded || n.Status == httpnode.StatusSkipped) {
			rr.Reuse[id] = n
		}
	}
	return rr, nil
}

// rerunSuffix ends the id of a rerun.
var rerunSuffix = regexp.MustCompile(`-rerun-[0-9a-f]{8}$`)

// rerunID is a new workflow id for a rerun of the flow id: the id without
// an earlier rerun's suffix, then -rerun- and a random suffix.
func rerunID(id string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return rerunSuffix.ReplaceAllString(id, "") + "-rerun-" + hex.EncodeToString(b)
}
