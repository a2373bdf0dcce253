package httpnode

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookupBody_JSONAndXML(t *testing.T) {
	const taskFinish = `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <EventName>TaskFinish</EventName>
  <JobsDetail>
    <Code>Success</Code>
    <JobId>j-1</JobId>
    <State>Success</State>
    <Operation><Output><Object>a.mp4</Object><Object>b.mp4</Object></Output></Operation>
  </JobsDetail>
</Response>`
	cases := []struct {
		ct, body, path, want, err string
	}{
		{"application/json", `{"status": "SUCCESS"}`, "status", "SUCCESS", ""},
		{"", `{"data": {"state": 3}}`, "data.state", "3", ""},
		{"application/xml", taskFinish, "JobsDetail.State", "Success", ""},
		{"", taskFinish, "EventName", "TaskFinish", ""}, // sniffed by the leading '<'
		{"text/xml", taskFinish, "JobsDetail.Operation.Output.Object.1", "b.mp4", ""},
		{"application/xml", taskFinish, "JobsDetail.Missing", "", `the body has no field "JobsDetail.Missing"`},
		{"application/xml", `<Response><State>`, "State", "", "the body is not JSON or XML"},
		{"application/json", `not json`, "status", "", "the body is not JSON"},
	}
	for _, tc := range cases {
		got, err := LookupBody(tc.ct, []byte(tc.body), tc.path)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, tc.path)
			continue
		}
		require.NoError(t, err, tc.path)
		require.Equal(t, tc.want, got, tc.path)
	}
}

func TestTaskFinish_EncodesBothFormats(t *testing.T) {
	doc := TaskFinish{EventName: TaskFinishEvent, JobsDetail: TaskFinishJob{Code: "Success", State: "Success", JobID: "wf-1",
		Tags: []TaskFinishTag{{Key: "team", Value: "media"}}}, Workflow: TaskFinishRunInfo{WorkflowID: "wf-1", WorkflowType: "HTTPNode"}}
	x, ct, err := doc.Encode(FormatXML)
	require.NoError(t, err)
	require.Equal(t, "application/xml", ct)
	for path, want := range map[string]string{"EventName": "TaskFinish", "JobsDetail.State": "Success", "JobsDetail.Tags.Tag.Key": "team", "Workflow.WorkflowType": "HTTPNode"} {
		got, err := LookupBody(ct, x, path)
		require.NoError(t, err, path)
		require.Equal(t, want, got, path)
	}
	j, ct, err := doc.Encode(FormatJSON)
	require.NoError(t, err)
	require.Equal(t, "application/json", ct)
	got, err := LookupBody(ct, j, "JobsDetail.Tags.0.Value")
	require.NoError(t, err)
	require.Equal(t, "media", got)
	_, _, err = doc.Encode("yaml")
	require.ErrorContains(t, err, `format "yaml" is not supported`)
}
