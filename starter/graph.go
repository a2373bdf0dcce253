package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/conn"
	"github.com/httpnode/httpnode/workflows"
)

// flowGraphCmd is "starter flow graph <flow.json> [--workflow-id ID]": the
// flow as a Mermaid flowchart on stdout, its nodes coloured by their status
// in a run of it when given the run's workflow id.
func flowGraphCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("flow graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var co conn.Options
	co.Register(fs)
	id := fs.String("workflow-id", "", "colour the nodes by their status in this run of the flow: its progress while it runs, its result once it ended")
	runID := fs.String("run-id", "", "the run of --workflow-id (default: its latest run)")
	dir := fs.String("direction", "TD", "TD (top down) or LR (left to right)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: starter flow graph [flags] <flow.json>")
		fs.PrintDefaults()
	}
	path, code := parseArgs(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if *dir != "TD" && *dir != "LR" {
		fmt.Fprintf(stderr, "starter: --direction: %q is not a direction (use TD or LR)\n", *dir)
		return exitInvalid
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitInvalid
	}
	f, code := loadFlow(path, data, stderr)
	if code >= 0 {
		return code
	}
	if *id == "" {
		fmt.Fprint(stdout, mermaidFlowchart(f, nil, *dir))
		return exitOK
	}
	c, err := co.Dial(ctx, log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitUnreachable
	}
	defer c.Close()
	res, code := flowStatusOf(ctx, c, *id, *runID, stderr)
	if code >= 0 {
		return code
	}
	var unknown []string
	for _, n := range f.Nodes {
		if res.Node(n.ID) == nil {
			unknown = append(unknown, n.ID)
		}
	}
	if len(unknown) > 0 {
		fmt.Fprintf(stderr, "starter: the run of %s has no node %s: is it a run of %s? (those nodes are drawn without a status)\n", *id, strings.Join(unknown, ", "), path)
	}
	fmt.Fprintf(stderr, "flow %s: %s\n", *id, res.Status)
	fmt.Fprint(stdout, mermaidFlowchart(f, &res, *dir))
	return exitOK
}

// flowStatusOf reads the status of each node of a run of the flow id: the
// progress query while it runs; once it ended, its result, or the progress
// query (answered from its history by a worker) when it ended without one
// (terminated). code is -1 when the caller should go on.
func flowStatusOf(ctx context.Context, c client.Client, id, runID string, stderr io.Writer) (httpnode.FlowResult, int) {
	var res httpnode.FlowResult
	info, code := describeFlow(ctx, c, id, runID, "drawn", stderr)
	if code >= 0 {
		return res, code
	}
	runID = info.GetExecution().GetRunId()
	if info.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if err := c.GetWorkflow(ctx, id, runID).Get(ctx, &res); err == nil || fromError(err, &res) {
			return res, -1
		}
		res = httpnode.FlowResult{}
	}
	v, err := c.QueryWorkflow(ctx, id, runID, workflows.ProgressQuery)
	if err == nil {
		err = v.Get(&res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "starter: cannot read the progress of %s (a worker on its task queue answers this): %v\n", id, err)
		return res, exitFailed
	}
	return res, -1
}

// Label budgets, in characters: a longer URL or when is cut with "…".
const (
	maxLabelURL  = 48
	maxLabelWhen = 40
)

// statusClasses are the classDefs of the node statuses, in the order they
// are printed; classOf maps a status to its class.
var (
	statusClasses = []struct{ name, style string }{
		{"succeeded", "fill:#d3f9d8,stroke:#2b8a3e,color:#1b4332"},
		{"failed", "fill:#ffe3e3,stroke:#c92a2a,color:#5c0a0a"},
		{"running", "fill:#d0ebff,stroke:#1c7ed6,color:#0b3d6e"},
		{"skipped", "fill:#e9ecef,stroke:#868e96,color:#495057"},
		{"cancelled", "fill:#ffe8cc,stroke:#e8590c,color:#662200"},
		{"pending", "fill:#ffffff,stroke:#868e96,color:#212529"},
	}
	classOf = map[string]string{
		httpnode.StatusSucceeded: "succeeded",
		httpnode.StatusFailed:    "failed",
		httpnode.StatusTimedOut:  "failed",
		workflows.StatusRunning:  "running",
		httpnode.StatusSkipped:   "skipped",
		httpnode.StatusNotRun:    "skipped",
		httpnode.StatusCancelled: "cancelled",
		workflows.StatusPending:  "pending",
	}
)

// mermaid is the flow as a top-down Mermaid flowchart; see mermaidFlowchart.
func mermaid(f httpnode.Flow, res *httpnode.FlowResult) string {
	return mermaidFlowchart(f, res, "TD")
}

// mermaidFlowchart is the flow as a Mermaid flowchart in direction dir (TD,
// LR): a node per flow node, labelled with its id and its request's method,
// host and path (no query: it may carry keys), and an edge per need,
// labelled with the node's when if it has one. With res, each node's label
// has its status in res too, and a class colours it by that status. The
// output depends on f and res only, in the document's order.
func mermaidFlowchart(f httpnode.Flow, res *httpnode.FlowResult, dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "flowchart %s\n", dir)
	ids := mermaidIDs(f)
	used := map[string]bool{}
	var classes []string
	for _, n := range f.Nodes {
		head := n.ID
		if nr := resultOf(res, n.ID); nr != nil {
			head += " · " + nr.Status
			if nr.Reused {
				head += " · reused"
			}
			if c := classOf[nr.Status]; c != "" {
				used[c] = true
				classes = append(classes, fmt.Sprintf("    class %s %s\n", ids[n.ID], c))
			}
		}
		label := mermaidText(head) + "<br/>" + mermaidText(target(n.Node.Request))
		if n.When != "" && len(n.Needs) == 0 { // no edge to carry it
			label += "<br/>" + mermaidText("when "+httpnode.OneLine(n.When, maxLabelWhen))
		}
		fmt.Fprintf(&b, "    %s[\"%s\"]\n", ids[n.ID], label)
	}
	for _, n := range f.Nodes {
		arrow := " --> "
		if n.When != "" {
			arrow = ` -->|"` + mermaidText(httpnode.OneLine(n.When, maxLabelWhen)) + `"| `
		}
		for _, need := range n.Needs {
			b.WriteString("    " + ids[need] + arrow + ids[n.ID] + "\n")
		}
	}
	for _, c := range statusClasses {
		if used[c.name] {
			fmt.Fprintf(&b, "    classDef %s %s\n", c.name, c.style)
		}
	}
	for _, c := range classes {
		b.WriteString(c)
	}
	return b.String()
}

func resultOf(res *httpnode.FlowResult, id string) *httpnode.FlowNodeResult {
	if res == nil {
		return nil
	}
	return res.Node(id)
}

// mermaidIDs names each node in the diagram n_<id>: no Mermaid keyword
// (end, graph, subgraph) has that form. A "-" becomes "_" ("--" would
// start an edge), with a number added when the name is another node's.
func mermaidIDs(f httpnode.Flow) map[string]string {
	ids := map[string]string{}
	taken := map[string]bool{}
	for _, n := range f.Nodes {
		if !strings.Contains(n.ID, "-") {
			ids[n.ID] = "n_" + n.ID
			taken[ids[n.ID]] = true
		}
	}
	for _, n := range f.Nodes {
		if _, ok := ids[n.ID]; ok {
			continue
		}
		base := "n_" + strings.ReplaceAll(n.ID, "-", "_")
		id := base
		for k := 2; taken[id]; k++ {
			id = fmt.Sprintf("%s_%d", base, k)
		}
		ids[n.ID], taken[id] = id, true
	}
	return ids
}

// target is a request as a label shows it: its method, and its URL without
// scheme, query or fragment, shortened.
func target(r httpnode.Request) string {
	u, _, _ := strings.Cut(httpnode.RedactURL(r.URL), "#")
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	}
	return r.Verb() + " " + httpnode.OneLine(u, maxLabelURL)
}

// mermaidText escapes text for a quoted Mermaid label: entity codes for
// the characters that would end the label or be read as markup.
var mermaidText = strings.NewReplacer(
	`"`, "#quot;", "#", "#35;", "<", "#lt;", ">", "#gt;", "&", "#amp;", "|", "#124;", "`", "#96;",
).Replace
