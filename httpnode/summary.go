package httpnode

import (
	"fmt"
	"strings"
)

// MaxSummaryBytes bounds Node.Summary: Temporal Web shows a workflow's
// summary on one line.
const MaxSummaryBytes = 200

// Summary is the node in one line for Temporal Web's static summary, e.g.
// "POST api.example.com/v1/exports → poll …/status every 30s": the method,
// host and path of the main request (never the query or a scheme's
// userinfo; references stay as written, so no secret's value), and how the
// node waits. At most MaxSummaryBytes.
func (n Node) Summary() string {
	s := n.Request.Verb() + " " + hostPath(n.Request.URL)
	if n.Callback != nil {
		cb := n.WithDefaults().Callback
		switch cb.Mode {
		case ModePush:
			s += " → wait for a pushed callback"
		case ModeLocation:
			s += " → poll its 202's Location"
		default:
			s += fmt.Sprintf(" → poll …%s every %s", lastSegment(cb.URL), cb.Interval)
			if cb.Mode == ModePushPoll {
				s = strings.Replace(s, " → poll", " → wait for a callback, poll", 1)
			}
		}
	}
	if len(s) > MaxSummaryBytes {
		s = cutBytes(s, MaxSummaryBytes-len("…")) + "…"
	}
	return s
}

// Details is the node in Markdown for Temporal Web's static details: its
// name and description, how it waits, and its budgets.
func (n Node) Details() string {
	d := n.WithDefaults()
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**", MarkdownCell(orText(n.Name, "HTTP node")))
	if n.Description != "" {
		b.WriteString(" · " + MarkdownCell(n.Description))
	}
	b.WriteString("\n\n| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, MarkdownCell(v)) }
	row("request", n.Summary())
	if cb := d.Callback; cb != nil {
		mode := cb.Mode
		if mode == "" {
			mode = ModeTimer + " (or the worker's default)"
		}
		row("wait", mode)
		limits := "deadline " + cb.Deadline.String()
		if cb.MaxPolls > 0 {
			limits += fmt.Sprintf(", at most %d polls", cb.MaxPolls)
		}
		row("wait budget", limits)
	}
	row("retry", fmt.Sprintf("%d more attempt(s), %s apart", *d.Retry.Count, d.Retry.Interval))
	if n.Timeout > 0 {
		row("timeout", n.Timeout.String())
	}
	row("on failure", d.OnFailure)
	return b.String()
}

// hostPath is a URL's host and path: no scheme, userinfo or query.
func hostPath(u string) string {
	u = RedactURL(u)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if at := strings.LastIndex(strings.SplitN(u, "/", 2)[0], "@"); at >= 0 {
		u = u[at+1:]
	}
	return strings.TrimSuffix(u, "/")
}

// lastSegment is the last path segment of a URL, with its slash.
func lastSegment(u string) string {
	p := strings.TrimSuffix(hostPath(u), "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i:]
	}
	return "/"
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
