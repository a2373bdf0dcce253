package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
	"github.com/httpnode/httpnode/internal/outbound"
	"github.com/httpnode/httpnode/internal/secrets"
)

// TestReport is what "starter test" shows: the request as sent (secrets
// masked), the response, the time breakdown and the node's verdict.
type TestReport struct {
	RequestTime time.Time             `json:"requestTime"`
	Request     *httpnode.SentRequest `json:"request,omitempty"`
	Response    *httpnode.Response    `json:"response,omitempty"`
	Timing      Timing                `json:"timing"`
	// Verdict is "success" or the error type the node would fail with;
	// Error says why.
	Verdict string `json:"verdict"`
	Error   string `json:"error,omitempty"`
	// Rules is what each of the main request's rules says of the
	// response; Outputs the node's outputs (a node without a callback:
	// a callback's are computed over its final poll).
	Rules   []activities.RuleVerdict   `json:"rules,omitempty"`
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
}

// Timing breaks a request's duration down; a phase that did not happen
// (a reused connection, plain HTTP) is absent.
type Timing struct {
	TotalMs     float64  `json:"totalMs"`
	DNSMs       *float64 `json:"dnsMs,omitempty"`
	ConnectMs   *float64 `json:"connectMs,omitempty"`
	TLSMs       *float64 `json:"tlsMs,omitempty"`
	FirstByteMs *float64 `json:"firstByteMs,omitempty"`
}

func testCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	prefix := fs.String("secret-prefix", secrets.NodePrefix, "environment prefix of ${secret.NAME} values and their <NAME>_HOSTS bindings (HTTPNODE_SECRET_PREFIX)")
	secretsDir := fs.String("secrets-dir", "", "directory of node secrets and their NAME.hosts bindings, as on the worker (HTTPNODE_SECRETS_DIR)")
	spec := fs.String("body-store", "mem://", "where a body goes that the worker would store (request.storeBody, or longer than maxResponseBytes): by default in memory, for this test only; "+bodystore.Usage)
	var out outbound.Options
	out.Register(fs)
	var ro renderOptions
	ro.register(fs, true)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: starter test [flags] <node.json>")
		fs.PrintDefaults()
	}
	path, node, _, code := parseCommand(fs, args, stderr)
	if code >= 0 {
		return code
	}
	ro.apply(&node)
	rendered, err := ro.render(node)
	if err != nil {
		printProblems(stderr, path, err)
		return exitInvalid
	}
	clients, err := out.Config(false)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitInvalid
	}
	nodeSecrets := &secrets.Nodes{Store: secrets.Store{Prefix: *prefix, Dir: *secretsDir}, Keys: secrets.DefaultWorkerKeys()}
	a := activities.New(nodeSecrets, clients)
	if a.Bodies, err = bodystore.Open(ctx, *spec, nil); err != nil {
		fmt.Fprintln(stderr, "starter: --body-store:", err)
		return exitInvalid
	}
	defer a.Bodies.Close()
	report := sendOnce(ctx, a, rendered, node)
	if *asJSON {
		printJSON(stdout, report)
	} else {
		printReport(stdout, report)
	}
	if report.Verdict != "success" {
		return exitFailed
	}
	return exitOK
}

// sendOnce sends the node's main request through the activity's own code,
// once (no retries), tracing the connection phases; every secret of the
// node is checked first, as the worker does.
func sendOnce(ctx context.Context, a *activities.Activities, rd httpnode.Rendered, node httpnode.Node) TestReport {
	var mu sync.Mutex
	var t0, dnsStart, connStart, tlsStart time.Time
	var tm Timing
	ms := func(from time.Time) *float64 {
		v := float64(time.Since(from).Microseconds()) / 1000
		return &v
	}
	trace := &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { mu.Lock(); dnsStart = time.Now(); mu.Unlock() },
		DNSDone:           func(httptrace.DNSDoneInfo) { mu.Lock(); tm.DNSMs = ms(dnsStart); mu.Unlock() },
		ConnectStart:      func(string, string) { mu.Lock(); connStart = time.Now(); mu.Unlock() },
		ConnectDone:       func(string, string, error) { mu.Lock(); tm.ConnectMs = ms(connStart); mu.Unlock() },
		TLSHandshakeStart: func() { mu.Lock(); tlsStart = time.Now(); mu.Unlock() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			mu.Lock()
			tm.TLSMs = ms(tlsStart)
			mu.Unlock()
		},
		GotFirstResponseByte: func() { mu.Lock(); tm.FirstByteMs = ms(t0); mu.Unlock() },
	}
	t0 = time.Now()
	rep := TestReport{RequestTime: t0.UTC()}
	req, err := rd.ForAttempt(1).Main()
	var out activities.SendRequestOutput
	if err != nil {
		err = temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidParameter, nil) // as the worker says it
	} else {
		in := activities.SendRequestInput{Request: req, Secrets: rd.SecretUses()}
		if node.Callback == nil {
			in.Outputs = node.Outputs
		}
		out, err = a.SendRequest(httptrace.WithClientTrace(ctx, trace), in)
	}
	mu.Lock()
	tm.TotalMs = *ms(t0)
	rep.Timing = tm
	mu.Unlock()
	rep.Verdict = "success"
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			rep.Verdict, rep.Error = app.Type(), app.Message()
			if app.HasDetails() {
				_ = app.Details(&out)
			}
		} else {
			rep.Verdict, rep.Error = "Error", err.Error()
		}
	}
	if out.Sent.Method != "" {
		rep.Request, rep.Response, rep.Outputs = &out.Sent, &out.Response, out.Outputs
		rep.Rules = activities.ExplainRules(ctx, a.Bodies, req.Request(), out.Response)
	}
	return rep
}

func printReport(w io.Writer, r TestReport) {
	if r.Request != nil {
		fmt.Fprintf(w, "%s %s\n", r.Request.Method, r.Request.URL)
	}
	fmt.Fprintf(w, "request time  %s\n", r.RequestTime.Format(time.RFC3339Nano))
	if r.Response != nil {
		fmt.Fprintf(w, "status        %s\n", r.Response.Status)
	}
	fmt.Fprintf(w, "duration      %.1fms (%s)\n", r.Timing.TotalMs, breakdown(r.Timing))
	if r.Request != nil {
		fmt.Fprintln(w, "request headers")
		printHeaders(w, r.Request.Headers)
	}
	if r.Response != nil {
		fmt.Fprintln(w, "response headers")
		printHeaders(w, r.Response.Headers)
		size := fmt.Sprintf("%d bytes", len(r.Response.BodyBytes()))
		if ref := r.Response.BodyRef; ref != nil {
			size = fmt.Sprintf("%d bytes stored at %s, sha256 %s; the first %s", ref.Size, ref.URL, ref.SHA256, size)
		} else if r.Response.Truncated {
			size += ", truncated" + r.Response.CutHint("request")
		}
		fmt.Fprintf(w, "body (%s)\n", size)
		fmt.Fprintln(w, prettyBody(*r.Response))
	}
	if len(r.Rules) > 0 {
		fmt.Fprintln(w, "rules")
		for _, v := range r.Rules {
			fmt.Fprintf(w, "  %s  %s  → %s\n", v.Field, v.When, v.Result)
		}
	}
	if len(r.Outputs) > 0 {
		fmt.Fprintln(w, "outputs")
		for _, k := range slices.Sorted(maps.Keys(r.Outputs)) {
			fmt.Fprintf(w, "  %s: %s\n", k, r.Outputs[k])
		}
	}
	if r.Error != "" {
		fmt.Fprintf(w, "verdict       %s: %s\n", r.Verdict, r.Error)
	} else {
		fmt.Fprintf(w, "verdict       %s\n", r.Verdict)
	}
}

func breakdown(t Timing) string {
	part := func(name string, v *float64) string {
		if v == nil {
			return name + " -"
		}
		return fmt.Sprintf("%s %.1fms", name, *v)
	}
	return strings.Join([]string{part("dns", t.DNSMs), part("connect", t.ConnectMs), part("tls", t.TLSMs), part("first byte", t.FirstByteMs)}, ", ")
}

func printHeaders(w io.Writer, h map[string]string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %s\n", k, h[k])
	}
}

func prettyBody(r httpnode.Response) string {
	if r.BodyEncoding != "" {
		return "  (binary, base64) " + r.Body
	}
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(r.Body), "  ", "  ") == nil {
		return "  " + buf.String()
	}
	return "  " + r.Body
}
