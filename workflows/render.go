package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// renderOnce renders the node into the state, unless it was (a run before
// continue-as-new) or has nothing to render. It reports whether it did;
// if not, the node ended (timeout, cancel, a rendering problem).
func (r *nodeRun) renderOnce(ctx workflow.Context) bool {
	switch {
	case r.st.Rendered != nil:
	case !r.node.NeedsRender():
		r.st.Rendered = unrendered(r.node)
	default:
		rendered, err := r.render(ctx, workflow.GetInfo(ctx))
		if err != nil {
			r.ended(ctx, err)
			return false
		}
		r.st.Rendered = &rendered
	}
	return true
}

// scheduledStartTime is the search attribute a Temporal Schedule sets on the
// runs it starts.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// render substitutes parameters, built-ins and time macros once per node run,
// in a local activity (it needs the worker's global parameters), so that
// every attempt, poll and replay uses the recorded values. Time macros use
// the Schedule's scheduled time, else the node's scheduledTime, else the
// workflow's start time.
func (r *nodeRun) render(ctx workflow.Context, info *workflow.Info) (httpnode.Rendered, error) {
	at := info.WorkflowStartTime
	if t, err := time.Parse(time.RFC3339, r.node.ScheduledTime); err == nil {
		at = t
	}
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok {
		at = t
	}
	firstRun := info.FirstRunID
	if firstRun == "" {
		firstRun = info.WorkflowExecution.RunID
	}
	return renderNode(ctx, "render parameters", activities.RenderInput{
		Node:          r.node,
		Builtins:      map[string]string{"nodeName": r.node.Name, "workflowId": info.WorkflowExecution.ID, "runId": firstRun},
		ScheduledTime: at,
	})
}

// renderNode renders a node in the RenderNode local activity.
func renderNode(ctx workflow.Context, summary string, in activities.RenderInput) (httpnode.Rendered, error) {
	var out httpnode.Rendered
	err := workflow.ExecuteLocalActivity(pureLocal(ctx, summary), a.RenderNode, in).Get(ctx, &out)
	return out, err
}

// pureLocal is ctx for a local activity that computes without I/O
// (rendering, compiling, judging an expression): 10s, 3 tries.
func pureLocal(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             summary,
	})
}

// unrendered is the node's requests as they are, for a node without
// references to render.
func unrendered(n httpnode.Node) *httpnode.Rendered {
	out := &httpnode.Rendered{Request: n.Request, Cancel: n.Cancel}
	if n.Callback != nil {
		out.Callback = &n.Callback.Request
	}
	if n.Notify != nil {
		out.Notify = &n.Notify.Request
	}
	return out
}
