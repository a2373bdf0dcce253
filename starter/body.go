package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"go.temporal.io/sdk/log"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
	"github.com/httpnode/httpnode/internal/conn"
	"github.com/httpnode/httpnode/internal/flagenv"
)

// bodyCmd writes a stored response body: the one a bodyRef names, or the
// final one of a node (-workflow-id), checked against its sha256.
func bodyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("body", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var co conn.Options
	co.Register(fs)
	spec := fs.String("body-store", "", bodystore.Usage)
	wid := fs.String("workflow-id", "", "the node whose final stored body to write (the callback's final response, else the main response); needs the Temporal server")
	out := fs.String("o", "", "write the body to this file (default: standard output)")
	want := fs.String("sha256", "", "the body's sha256, as in bodyRef (taken from the node with -workflow-id)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: starter body [flags] <bodyRef.url or key>\n       starter body [flags] -workflow-id <id>")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalid
	}
	if err := flagenv.Apply(fs); err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitInvalid
	}
	if (fs.NArg() == 1) == (*wid != "") || fs.NArg() > 1 {
		fs.Usage()
		return exitInvalid
	}
	ref := httpnode.BodyRef{URL: fs.Arg(0), SHA256: *want, Size: -1}
	if *wid != "" {
		r, code := nodeBodyRef(ctx, co, *wid, stderr)
		if code >= 0 {
			return code
		}
		ref = r
	}
	cd, err := co.Codec()
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitInvalid
	}
	if *spec == "" {
		fmt.Fprintln(stderr, "starter: --body-store: name the worker's body store (the worker's --body-store, HTTPNODE_BODY_STORE)")
		return exitInvalid
	}
	store, err := bodystore.Open(ctx, *spec, cd)
	if err != nil {
		fmt.Fprintln(stderr, "starter: --body-store:", err)
		return exitInvalid
	}
	defer store.Close()
	r, err := store.Get(ctx, ref.URL)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return exitFailed
	}
	defer r.Close()
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(stderr, "starter: -o:", err)
			return exitInvalid
		}
		defer f.Close()
		w = f
	}
	code := writeBody(w, r, ref, stderr)
	if code != exitOK && *out != "" {
		_ = os.Remove(*out) // not the body: leave none
	}
	return code
}

// writeBody copies a stored body to w and checks it against ref.
func writeBody(w io.Writer, r io.Reader, ref httpnode.BodyRef, stderr io.Writer) int {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		fmt.Fprintf(stderr, "starter: body %s: read %d bytes, then: %v\n", bodystore.KeyOf(ref.URL), n, err)
		return exitFailed
	}
	sum := hex.EncodeToString(h.Sum(nil))
	switch {
	case ref.SHA256 != "" && sum != ref.SHA256:
		fmt.Fprintf(stderr, "starter: body %s: its sha256 is %s, not %s: it is not the body the node stored\n", bodystore.KeyOf(ref.URL), sum, ref.SHA256)
		return exitFailed
	case ref.Size >= 0 && n != ref.Size:
		fmt.Fprintf(stderr, "starter: body %s: %d bytes, not %d: it is not the body the node stored\n", bodystore.KeyOf(ref.URL), n, ref.Size)
		return exitFailed
	}
	fmt.Fprintf(stderr, "%d bytes, sha256 %s%s\n", n, sum, map[bool]string{true: " (checked)", false: ""}[ref.SHA256 != ""])
	return exitOK
}

// nodeBodyRef is the bodyRef of a finished node's final response: the
// callback's, else the main request's. code is -1 when there is one.
func nodeBodyRef(ctx context.Context, co conn.Options, id string, stderr io.Writer) (httpnode.BodyRef, int) {
	c, err := co.Dial(ctx, log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return httpnode.BodyRef{}, exitUnreachable
	}
	defer c.Close()
	var res httpnode.Result
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		fmt.Fprintf(stderr, "starter: node %s has no result to read a body from: %v\n", id, err)
		return httpnode.BodyRef{}, exitFailed
	}
	for _, r := range []*httpnode.Response{res.CallbackResponse, res.Response} {
		if r != nil && r.BodyRef != nil {
			return *r.BodyRef, -1
		}
	}
	fmt.Fprintf(stderr, "starter: node %s stored no body (its responses have no bodyRef: the node had no request.storeBody, and no body was longer than maxResponseBytes on a worker with a --body-store)\n", id)
	return httpnode.BodyRef{}, exitFailed
}
