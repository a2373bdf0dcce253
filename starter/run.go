package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/conn"
	"github.com/httpnode/httpnode/workflows"
)

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var co conn.Options
	co.Register(fs)
	id := fs.String("id", "", "workflow id (default: the node name and a random suffix)")
	taskQueue := fs.String("task-queue", workflows.TaskQueue, "task queue of the workers (HTTPNODE_TASK_QUEUE)")
	noWait := fs.Bool("no-wait", false, "start the node and print its ids without waiting")
	every := fs.Duration("progress-every", time.Second, "how often to ask the node for progress")
	var ro renderOptions
	ro.register(fs, false)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: starter run [flags] <node.json or flow.json>")
		fs.PrintDefaults()
	}
	if path, code := parseArgs(fs, args, stderr); code >= 0 {
		return code
	} else if isFlowFile(path) {
		return runFlowCmd(ctx, co, path, *id, *taskQueue, *noWait, *every, ro.params, stdout, stderr)
	}
	_, node, data, code := parseCommand(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if len(ro.params) > 0 {
		ro.apply(&node)
		data, _ = json.Marshal(node)
	}
	c, err := co.Dial(ctx, log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitUnreachable
	}
	defer c.Close()
	if *id == "" {
		*id = workflowID(node.Name)
	}
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: *id, TaskQueue: *taskQueue, StaticSummary: node.Summary(), StaticDetails: node.Details()},
		workflows.HTTPNodeName, json.RawMessage(data))
	if err != nil {
		fmt.Fprintln(stderr, "starter: cannot start the node:", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "started %s (workflow id %s, run id %s) on task queue %s\n", workflows.HTTPNodeName, wr.GetID(), wr.GetRunID(), *taskQueue)
	if *noWait {
		fmt.Fprintf(stdout, "{\"workflowId\": %q, \"runId\": %q}\n", wr.GetID(), wr.GetRunID())
		return exitOK
	}
	res, err := wait(ctx, c, wr, *every, stderr)
	if err != nil && res == nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitFailed
	}
	printJSON(stdout, res)
	if err != nil {
		fmt.Fprintln(stderr, "node failed:", err)
	}
	if res.Status == httpnode.StatusSucceeded || res.Status == httpnode.StatusSkipped {
		return exitOK
	}
	return exitFailed
}

// runFlowCmd is "starter run" of a flow file.
func runFlowCmd(ctx context.Context, co conn.Options, path, id, taskQueue string, noWait bool, every time.Duration, params map[string]string, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitInvalid
	}
	f, code := loadFlow(path, data, stderr)
	if code >= 0 {
		return code
	}
	c, err := co.Dial(ctx, log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitUnreachable
	}
	defer c.Close()
	if id == "" {
		id = workflowID(orDefault(f.Name, "flow"))
	}
	return runFlow(ctx, c, flowWithParams(f, params), client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, noWait, every, stdout, stderr)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// wait prints progress lines until the workflow ends, then returns its
// result; for a failed node the result comes from the error's details.
func wait(ctx context.Context, c client.Client, wr client.WorkflowRun, every time.Duration, stderr io.Writer) (*httpnode.Result, error) {
	done := make(chan struct{})
	var res httpnode.Result
	var runErr error
	go func() {
		defer close(done)
		// Get follows continue-as-new to the node's last run.
		runErr = wr.Get(ctx, &res)
	}()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	last := ""
	for {
		select {
		case <-done:
			if runErr == nil {
				return &res, nil
			}
			var app *temporal.ApplicationError
			if errors.As(runErr, &app) && app.HasDetails() && app.Details(&res) == nil {
				return &res, errors.New(app.Error())
			}
			return nil, runErr
		case <-ticker.C:
			v, err := c.QueryWorkflow(ctx, wr.GetID(), "", workflows.ProgressQuery)
			if err != nil {
				continue // between runs or not yet picked up by a worker
			}
			var p workflows.Progress
			if v.Get(&p) != nil {
				continue
			}
			if line := progressLine(p); line != last {
				fmt.Fprintln(stderr, line)
				last = line
			}
		}
	}
}

func progressLine(p workflows.Progress) string {
	parts := []string{fmt.Sprintf("attempt %d", p.Attempt), p.Phase}
	if p.TaskID != "" {
		parts = append(parts, "task "+p.TaskID)
	}
	if p.Phase == workflows.PhaseWaiting || p.Polls > 0 {
		parts = append(parts, fmt.Sprintf("polls %d", p.Polls))
	}
	if p.Pushes > 0 {
		parts = append(parts, fmt.Sprintf("callbacks %d", p.Pushes))
	}
	if p.LastStatus != "" {
		parts = append(parts, "remote status "+p.LastStatus)
	}
	if p.PushDeadline != nil {
		parts = append(parts, "waiting for the callback until "+p.PushDeadline.Local().Format(time.TimeOnly))
	}
	if p.NextPollTime != nil {
		parts = append(parts, "next poll "+p.NextPollTime.Local().Format(time.TimeOnly))
	}
	if p.LastError != nil {
		parts = append(parts, "after "+p.LastError.Type+": "+p.LastError.Message)
	}
	if p.NextTryTime != nil {
		parts = append(parts, "next try "+p.NextTryTime.Local().Format(time.TimeOnly))
	}
	return strings.Join(parts, " · ")
}

func workflowID(name string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	if name == "" {
		name = "node"
	}
	var clean strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			clean.WriteRune(r)
		} else {
			clean.WriteRune('-')
		}
	}
	return clean.String() + "-" + hex.EncodeToString(b)
}

// printJSON writes v indented, without HTML escaping ("<b>" stays "<b>").
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
