// Command starter runs, checks and tries HTTP nodes from JSON files:
//
//	starter run node.json        start an HTTPNode workflow and wait for its result
//	starter validate node.json   report every problem in the file, with field paths
//	starter test node.json       send the main request once and show the response
//	starter body <bodyRef.url>   write a response body from the worker's body store
//	starter flow rerun <id> --from <node>   rerun a flow from a node, reusing the others' results
//	starter flow graph flow.json            print a flow as a Mermaid diagram
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1 // the node failed, timed out, or the request failed
	exitInvalid     = 2 // bad usage or an invalid node
	exitUnreachable = 3 // the Temporal server cannot be reached
)

const usage = `usage: starter <command> [flags] <node.json or flow.json>

commands:
  run       start an HTTPNode workflow, print its progress and its result JSON
  validate  check a node file; every problem is listed with its field path
  test      send the node's main request once, without a workflow, and show
            time, status, duration breakdown, headers and body
  body      write a response body the worker stored (bodyRef), checked
            against its sha256
  flow rerun <flow workflow id> --from <node id>
            a new run of an ended flow that reuses the results of the
            nodes not downstream of the node, and runs that node and its
            descendants again
  flow graph <flow.json> [--workflow-id ID]
            print the flow as a Mermaid diagram, nodes coloured by status
            when given a flow's workflow id

"starter <command> -h" lists a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitInvalid
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "validate":
		return validateCmd(args[1:], stdout, stderr)
	case "test":
		return testCmd(ctx, args[1:], stdout, stderr)
	case "body":
		return bodyCmd(ctx, args[1:], stdout, stderr)
	case "flow":
		return flowCmd(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "starter: unknown command %q\n\n%s", args[0], usage)
	return exitInvalid
}
