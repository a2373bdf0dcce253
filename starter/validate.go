package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/flagenv"
)

func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ro renderOptions
	ro.register(fs, true)
	workerMode := fs.String("default-wait-mode", httpnode.ModeTimer, "the worker's: "+httpnode.DefaultWaitModeUsage)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: starter validate [flags] <node.json or flow.json>")
		fs.PrintDefaults()
	}
	if path, code := parseArgs(fs, args, stderr); code >= 0 {
		return code
	} else if isFlowFile(path) {
		data, _ := os.ReadFile(path)
		f, code := loadFlow(path, data, stderr)
		if code >= 0 {
			return code
		}
		fmt.Fprintf(stdout, "%s: valid flow of %d nodes\n", path, len(f.Nodes))
		for _, n := range f.Nodes {
			fmt.Fprintf(stdout, "  %s", n.ID)
			if len(n.Needs) > 0 {
				fmt.Fprintf(stdout, " after %s", strings.Join(n.Needs, ", "))
			}
			if n.When != "" {
				fmt.Fprintf(stdout, " when %s", n.When)
			}
			fmt.Fprintln(stdout)
		}
		return exitOK
	}
	path, node, _, code := parseCommand(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if err := httpnode.CheckDefaultWaitMode(*workerMode); err != nil {
		fmt.Fprintln(stderr, "starter: --default-wait-mode:", err)
		return exitInvalid
	}
	ro.apply(&node)
	if _, err := ro.render(node); err != nil {
		printProblems(stderr, path, err)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "%s: valid\n  waits: %s\n", path, waitCost(node, *workerMode))
	return exitOK
}

// parseCommand parses a command's flags and its node file, applies the
// environment to the flags and loads the node; code is -1 when the caller
// should go on, else the exit code.
func parseCommand(fs *flag.FlagSet, args []string, stderr io.Writer) (path string, node httpnode.Node, data []byte, code int) {
	if path, code = parseArgs(fs, args, stderr); code >= 0 {
		return path, node, nil, code
	}
	node, data, code = loadNode(path, stderr)
	return path, node, data, code
}

// parseArgs parses a command's flags and its one file argument and
// applies the environment to the flags; code is -1 when the caller should
// go on.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer) (path string, code int) {
	path, code = parseWithFile(fs, args, stderr)
	if code >= 0 {
		return path, code
	}
	if err := flagenv.Apply(fs); err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return path, exitInvalid
	}
	return path, -1
}

// parseWithFile parses flags and the one file argument, wherever it stands.
// code is -1 when the caller should go on.
func parseWithFile(fs *flag.FlagSet, args []string, stderr io.Writer) (path string, code int) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", exitOK
			}
			return "", exitInvalid
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		fmt.Fprintln(stderr, "starter: give exactly one argument (usage above)")
		return "", exitInvalid
	}
	return files[0], -1
}

// loadNode reads and validates a node file; on a problem it prints every
// error with its field path and returns exitInvalid, else code -1.
func loadNode(path string, stderr io.Writer) (httpnode.Node, []byte, int) {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "starter: %v\n", err)
		return httpnode.Node{}, nil, exitInvalid
	}
	node, err := httpnode.Decode(data)
	if err == nil {
		err = node.CheckExpressions()
	}
	if err != nil {
		printProblems(stderr, path, err)
		return node, nil, exitInvalid
	}
	return node, data, -1
}

// printProblems lists a validation error's problems, one per line.
func printProblems(w io.Writer, path string, err error) {
	var verr *httpnode.ValidationError
	if !errors.As(err, &verr) {
		fmt.Fprintf(w, "%s: %v\n", path, err)
		return
	}
	fmt.Fprintf(w, "%s: %d problem(s):\n", path, len(verr.Problems))
	for _, p := range verr.Problems {
		fmt.Fprintf(w, "  %s: %s\n", p.Path, p.Message)
	}
}
