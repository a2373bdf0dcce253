// Package httpnode defines the HTTP node: the JSON document a user writes, its
// defaults, its validation and the result a node run reports.
//
// The package is pure Go with no Temporal dependency beyond types, so parent
// workflows can import it to build a node and read its result:
//
//	node := httpnode.Node{Request: httpnode.Request{Method: "POST", URL: "https://api.example.com/jobs"}}
//	err := workflow.ExecuteChildWorkflow(ctx, "HTTPNode", node).Get(ctx, &result)
//
// Decode reads a node strictly: unknown or misspelt fields, bad durations and
// bad values are reported with their field path before anything is sent.
package httpnode
