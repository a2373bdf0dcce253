package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
)

// TaskQueue is the default task queue of HTTP nodes.
const TaskQueue = "http-node"

// HTTPNodeName is the registered workflow type. It is API: never rename.
const HTTPNodeName = "HTTPNode"

// ProgressQuery is the name of the query answering a node's Progress.
const ProgressQuery = "progress"

// Register registers the HTTPNode workflow and the node's activities.
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflowWithOptions(HTTPNode, workflow.RegisterOptions{Name: HTTPNodeName})
	w.RegisterActivity(a)
}
