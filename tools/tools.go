//go:build tools

// Package tools pins the command-line tools used next to httpnode, apart from
// the main module (the Temporal CLI does not build inside it):
//
//	go build -C tools -o ../bin/temporal github.com/temporalio/cli/cmd/temporal
package tools

import _ "github.com/temporalio/cli/cmd/temporal"
