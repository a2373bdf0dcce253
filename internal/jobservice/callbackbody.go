package jobservice

import (
	"encoding/json"
	"time"

	"github.com/httpnode/httpnode/httpnode"
)

// jsonCallback is the body of a "json" callback.
type jsonCallback struct {
	TaskID string `json:"taskId"`
	Status string `json:"status"`
}

// callbackBody encodes the callback of job j reporting status at now in
// format, with its Content-Type.
func callbackBody(j *job, status string, now time.Time, format string) ([]byte, string, error) {
	if format != httpnode.FormatXML {
		b, err := json.Marshal(jsonCallback{TaskID: j.id, Status: status})
		return b, "application/json", err
	}
	code, state, msg := "Failed", "Failed", "the job failed"
	switch status {
	case "SUCCESS":
		code, state, msg = "Success", "Success", "the job succeeded"
	case Pending:
		code, state, msg = "", "Running", "the job is running"
	case cancelledStatus:
		msg = "the job was cancelled"
	}
	created := j.created.UTC().Format(time.RFC3339)
	doc := httpnode.TaskFinish{
		EventName: httpnode.TaskFinishEvent,
		JobsDetail: httpnode.TaskFinishJob{
			Code: code, Message: msg, State: state, JobID: j.id,
			CreationTime: created, StartTime: created,
			Output: httpnode.TaskFinishOutput{TaskID: j.id, RemoteStatus: status},
		},
	}
	if status != Pending {
		doc.JobsDetail.EndTime = now.UTC().Format(time.RFC3339)
	}
	return doc.Encode(httpnode.FormatXML)
}
