package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/httpnode"
)

// show makes the node's progress its current details in Temporal Web (a
// small Markdown card); it records nothing in history.
func (r *nodeRun) show(ctx workflow.Context) {
	tries := 1
	if r.node.Retry != nil && r.node.Retry.Count != nil {
		tries += *r.node.Retry.Count
	}
	workflow.SetCurrentDetails(ctx, r.progress.card(r.node.Name, tries))
}

// card is the progress as Markdown: a line with the node, its phase and
// attempt, then a row for each thing known (task id, polls and the last
// remote status, the next poll or try and why, stuck since).
func (p Progress) card(name string, tries int) string {
	var b strings.Builder
	if name == "" {
		name = "node"
	}
	phase := p.Phase
	if p.Status != "" {
		phase = p.Status
	}
	fmt.Fprintf(&b, "**%s** · %s · attempt %d of %d\n\n| | |\n|---|---|\n", httpnode.MarkdownCell(name), phase, p.Attempt, tries)
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, httpnode.MarkdownCell(v)) }
	if p.TaskID != "" {
		row("task", p.TaskID)
	}
	if p.Polls > 0 || p.Phase == PhaseWaiting {
		polls := fmt.Sprint(p.Polls)
		if p.LastStatus != "" {
			polls += " · last remote status " + p.LastStatus
		}
		row("polls", polls)
	}
	if p.Pushes > 0 {
		row("callbacks", fmt.Sprint(p.Pushes))
	}
	if p.NextPollTime != nil {
		row("next poll", p.NextPollTime.UTC().Format(time.RFC3339))
	}
	if p.PushDeadline != nil {
		row("waiting for a callback until", p.PushDeadline.UTC().Format(time.RFC3339))
	}
	if p.NextTryTime != nil {
		row("next try", p.NextTryTime.UTC().Format(time.RFC3339))
	}
	if p.LastError != nil {
		row("last error", p.LastError.Type+": "+p.LastError.Message)
	}
	if p.Stuck && p.StatusSince != nil {
		row("stuck", "the remote status has not changed since "+p.StatusSince.UTC().Format(time.RFC3339))
	}
	return b.String()
}
