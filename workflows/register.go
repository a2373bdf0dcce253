package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// TaskQueue is the default task queue of HTTP nodes and flows.
const TaskQueue = httpnode.TaskQueue

// HTTPNodeName and FlowName are the registered workflow types. They are
// API: never rename.
const (
	HTTPNodeName = httpnode.NodeWorkflow
	FlowName     = httpnode.FlowWorkflow
)

// ProgressQuery is the name of the query answering a node's Progress.
const ProgressQuery = "progress"

// Register registers the HTTPNode and Flow workflows and the node's
// activities.
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflowWithOptions(HTTPNode, workflow.RegisterOptions{Name: HTTPNodeName})
	w.RegisterWorkflowWithOptions(Flow, workflow.RegisterOptions{Name: FlowName})
	w.RegisterActivity(a)
}

// WaitsQueue is the task queue of the activity-mode waits of nodes on
// taskQueue. A wait holds its activity slot for as long as it waits: on a
// queue of their own, with a slot budget of their own (the worker's
// --max-concurrent-waits), waits never take the slots that main requests
// and the other modes' polls need.
func WaitsQueue(taskQueue string) string { return taskQueue + "-waits" }

// NewWorkers makes the two workers of a task queue: the workflow and its
// activities on taskQueue with opts, and activity-mode waits on
// WaitsQueue(taskQueue) with at most maxWaits at once. Both send
// heartbeats at most every activities.HeartbeatThrottle.
func NewWorkers(c client.Client, taskQueue string, opts worker.Options, a *activities.Activities, maxWaits int) (main, waits worker.Worker) {
	opts.MaxHeartbeatThrottleInterval = activities.HeartbeatThrottle
	main = worker.New(c, taskQueue, opts)
	Register(main, a)
	waitOpts := worker.Options{
		MaxConcurrentActivityExecutionSize: maxWaits, DisableWorkflowWorker: true,
		WorkerStopTimeout: opts.WorkerStopTimeout, MaxHeartbeatThrottleInterval: opts.MaxHeartbeatThrottleInterval,
	}
	waits = worker.New(c, WaitsQueue(taskQueue), waitOpts)
	waits.RegisterActivityWithOptions(a.PollUntilDone, activity.RegisterOptions{Name: "PollUntilDone"})
	return main, waits
}
