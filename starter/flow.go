package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/workflows"
)

// flowCmd is "starter flow <rerun|graph> ...".
func flowCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "rerun":
			return flowRerunCmd(ctx, args[1:], stdout, stderr)
		case "graph":
			return flowGraphCmd(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, "usage: starter flow rerun <flow workflow id> --from <node id>\n       starter flow graph <flow.json> [--workflow-id ID]\n")
	return exitInvalid
}

// loadFlow reads and validates a flow file, its expressions compiled; on a
// problem it prints every error with its field path and returns
// exitInvalid, else code -1.
func loadFlow(path string, data []byte, stderr io.Writer) (httpnode.Flow, int) {
	f, err := httpnode.DecodeFlow(data)
	if err == nil {
		err = f.CheckExpressions()
	}
	if err != nil {
		printProblems(stderr, path, err)
		return f, exitInvalid
	}
	return f, -1
}

// isFlowFile reports whether the file at path holds a flow.
func isFlowFile(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && httpnode.IsFlow(data)
}

// runFlow starts a Flow workflow, prints each node's changes while it
// runs, then the flow's result JSON.
func runFlow(ctx context.Context, c client.Client, f httpnode.Flow, opts client.StartWorkflowOptions, noWait bool, every time.Duration, stdout, stderr io.Writer) int {
	if opts.StaticSummary == "" {
		opts.StaticSummary = fmt.Sprintf("flow %s · %d nodes", orDefault(f.Name, opts.ID), len(f.Nodes))
	}
	wr, err := c.ExecuteWorkflow(ctx, opts, workflows.FlowName, f)
	if err != nil {
		fmt.Fprintln(stderr, "starter: cannot start the flow:", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "started %s (workflow id %s, run id %s) on task queue %s, %d nodes\n", workflows.FlowName, wr.GetID(), wr.GetRunID(), opts.TaskQueue, len(f.Nodes))
	if noWait {
		fmt.Fprintf(stdout, "{\"workflowId\": %q, \"runId\": %q}\n", wr.GetID(), wr.GetRunID())
		return exitOK
	}
	done := make(chan struct{})
	var res httpnode.FlowResult
	var runErr error
	go func() {
		defer close(done)
		runErr = wr.Get(ctx, &res)
	}()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	shown := map[string]string{}
	for {
		select {
		case <-done:
			if runErr != nil && !fromError(runErr, &res) {
				fmt.Fprintln(stderr, "starter:", runErr)
				return exitFailed
			}
			printNodeChanges(stderr, res, shown)
			fmt.Fprint(stderr, "\n"+res.Markdown(res.EndTime)+"\n")
			printJSON(stdout, res)
			if res.Status != httpnode.StatusSucceeded {
				fmt.Fprintf(stderr, "flow %s\n", strings.ToLower(res.Status))
				return exitFailed
			}
			return exitOK
		case <-ticker.C:
			v, err := c.QueryWorkflow(ctx, wr.GetID(), "", workflows.ProgressQuery)
			if err != nil {
				continue
			}
			var p httpnode.FlowResult
			if v.Get(&p) == nil {
				printNodeChanges(stderr, p, shown)
			}
		}
	}
}

// printNodeChanges prints a line for each node whose status changed since
// shown.
func printNodeChanges(w io.Writer, r httpnode.FlowResult, shown map[string]string) {
	for _, n := range r.Nodes {
		line := n.Status
		switch {
		case n.Error != nil:
			line += " · " + n.Error.Type + ": " + n.Error.Message
		case n.Reason != "":
			line += " · " + n.Reason
		}
		if len(n.SkippedFields) > 0 {
			line += " · left out: " + strings.Join(n.SkippedFields, ", ")
		}
		if n.Reused {
			line += " · reused from " + n.WorkflowID
		}
		if shown[n.ID] != line {
			fmt.Fprintf(w, "node %s · %s\n", n.ID, line)
			shown[n.ID] = line
		}
	}
}

// flowWithParams is f with --param values set in its params.
func flowWithParams(f httpnode.Flow, params map[string]string) httpnode.Flow {
	if len(params) == 0 {
		return f
	}
	merged := maps.Clone(f.Params)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, params)
	f.Params = merged
	return f
}

// fromError reads into res the FlowResult a flow that did not succeed
// carries in its error; it reports whether there was one.
func fromError(err error, res *httpnode.FlowResult) bool {
	r := httpnode.FlowResultOf(err)
	if r != nil {
		*res = *r
	}
	return r != nil
}

// describeFlow finds the run of the flow id (runID "" for its latest): it
// must be a Flow workflow, since only flows are what (drawn, rerun). code
// is -1 when the caller should go on.
func describeFlow(ctx context.Context, c client.Client, id, runID, what string, stderr io.Writer) (*workflowpb.WorkflowExecutionInfo, int) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		fmt.Fprintf(stderr, "starter: cannot find the flow %s: %v\n", id, err)
		return nil, exitFailed
	}
	info := desc.GetWorkflowExecutionInfo()
	if name := info.GetType().GetName(); name != workflows.FlowName {
		fmt.Fprintf(stderr, "starter: %s is a %s workflow, not a %s: only flows are %s\n", id, name, workflows.FlowName, what)
		return info, exitInvalid
	}
	return info, -1
}
