package httpnode

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
)

// TaskFinish is the completion notification a node POSTs to notify.url when
// it ends, in the shape media-processing and job services use for their own
// "TaskFinish" callbacks: an event name, the job's details, and the workflow
// that ran it. The same document is sent as JSON or XML (root <Response>).
type TaskFinish struct {
	XMLName    xml.Name          `xml:"Response" json:"-"`
	EventName  string            `xml:"EventName" json:"EventName"` // always "TaskFinish"
	JobsDetail TaskFinishJob     `xml:"JobsDetail" json:"JobsDetail"`
	Workflow   TaskFinishRunInfo `xml:"Workflow" json:"Workflow"`
}

// TaskFinishEvent is TaskFinish.EventName.
const TaskFinishEvent = "TaskFinish"

// TaskFinishJob describes the job: how it ended, when, what was sent and
// what came back. Times are RFC 3339 in UTC.
type TaskFinishJob struct {
	// Code is "Success" or the error type (HTTPStatus, NodeTimeout, ...).
	Code    string `xml:"Code" json:"Code"`
	Message string `xml:"Message" json:"Message"`
	// State is Success, Failed, Timeout, Cancelled or Skipped.
	State        string           `xml:"State" json:"State"`
	JobID        string           `xml:"JobId" json:"JobId"` // the workflow id
	CreationTime string           `xml:"CreationTime" json:"CreationTime"`
	StartTime    string           `xml:"StartTime,omitempty" json:"StartTime,omitempty"`
	EndTime      string           `xml:"EndTime" json:"EndTime"`
	Input        TaskFinishInput  `xml:"Input" json:"Input"`
	Output       TaskFinishOutput `xml:"Output" json:"Output"`
	UserData     string           `xml:"UserData,omitempty" json:"UserData,omitempty"`
	Tags         []TaskFinishTag  `xml:"Tags>Tag,omitempty" json:"Tags,omitempty"`
}

// TaskFinishInput is the main request as sent, secrets masked.
type TaskFinishInput struct {
	Name   string `xml:"Name,omitempty" json:"Name,omitempty"`
	Method string `xml:"Method,omitempty" json:"Method,omitempty"`
	URL    string `xml:"Url,omitempty" json:"Url,omitempty"`
}

// TaskFinishOutput is what the remote answered.
type TaskFinishOutput struct {
	StatusCode   int    `xml:"StatusCode,omitempty" json:"StatusCode,omitempty"`
	TaskID       string `xml:"TaskId,omitempty" json:"TaskId,omitempty"`
	RemoteStatus string `xml:"RemoteStatus,omitempty" json:"RemoteStatus,omitempty"`
	Attempts     int    `xml:"Attempts" json:"Attempts"`
	Polls        int    `xml:"Polls" json:"Polls"`
}

// TaskFinishTag is one of the node's notify.tags.
type TaskFinishTag struct {
	Key   string `xml:"Key" json:"Key"`
	Value string `xml:"Value" json:"Value"`
}

// TaskFinishRunInfo names the run that sent the notification.
// For a node of a flow it is the flow's run: RunId and WorkflowId are the
// Flow workflow's, WorkflowName the flow's name, Name the node's id (JobId
// is then the node's own child workflow).
type TaskFinishRunInfo struct {
	RunID        string `xml:"RunId" json:"RunId"`
	WorkflowID   string `xml:"WorkflowId" json:"WorkflowId"`
	WorkflowType string `xml:"WorkflowType" json:"WorkflowType"`
	WorkflowName string `xml:"WorkflowName,omitempty" json:"WorkflowName,omitempty"`
	// Name is the node's id in a flow, else its name.
	Name     string `xml:"Name,omitempty" json:"Name,omitempty"`
	NodeName string `xml:"NodeName,omitempty" json:"NodeName,omitempty"`
}

// FlowFinish is the completion notification of a flow (its notify): the
// flow's state and a JobsDetail entry per node, in the document's order.
type FlowFinish struct {
	XMLName    xml.Name          `xml:"Response" json:"-"`
	EventName  string            `xml:"EventName" json:"EventName"` // always "TaskFinish"
	State      string            `xml:"State" json:"State"`         // Success, Partial, Failed, Timeout, Cancelled
	JobsDetail []TaskFinishJob   `xml:"JobsDetail" json:"JobsDetail"`
	Workflow   TaskFinishRunInfo `xml:"Workflow" json:"Workflow"`
	UserData   string            `xml:"UserData,omitempty" json:"UserData,omitempty"`
	Tags       []TaskFinishTag   `xml:"Tags>Tag,omitempty" json:"Tags,omitempty"`
}

// Encode returns the document in format ("json" or "xml") and its
// Content-Type.
func (t FlowFinish) Encode(format string) ([]byte, string, error) { return encodeDoc(t, format) }

// Notification formats.
const (
	FormatJSON = "json"
	FormatXML  = "xml"
)

// Encode returns the document in format ("json" or "xml") and its
// Content-Type.
func (t TaskFinish) Encode(format string) ([]byte, string, error) { return encodeDoc(t, format) }

func encodeDoc(t any, format string) ([]byte, string, error) {
	switch format {
	case FormatXML:
		b, err := xml.MarshalIndent(t, "", "  ")
		return append([]byte(xml.Header), b...), "application/xml", err
	case "", FormatJSON:
		b, err := json.Marshal(t)
		return b, "application/json", err
	}
	return nil, "", fmt.Errorf("format %q is not supported (use \"json\" or \"xml\")", format)
}

// Task states of a TaskFinish document, by node status.
var taskFinishStates = map[string]string{
	StatusSucceeded: "Success",
	StatusFailed:    "Failed",
	StatusTimedOut:  "Timeout",
	StatusCancelled: "Cancelled",
	StatusSkipped:   "Skipped",
	StatusPartial:   "Partial",
	StatusNotRun:    "NotRun",
}

// TaskFinishState is the TaskFinish State of a node status.
func TaskFinishState(status string) string { return taskFinishStates[status] }
