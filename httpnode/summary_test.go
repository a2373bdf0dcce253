package httpnode

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The one-line summary names the method, host and path and how the node
// waits, never the query or userinfo, within MaxSummaryBytes.
func TestNode_Summary(t *testing.T) {
	cases := []struct {
		node Node
		want string
	}{
		{Node{Request: Request{URL: "https://api.example.com/v1/exports?token=s3cret"}}, "GET api.example.com/v1/exports"},
		{Node{Request: Request{Method: "post", URL: "https://user:pw@api.example.com/v1/exports"},
			Callback: &Callback{Request: Request{URL: "https://api.example.com/v1/status?key=k"}, Interval: Duration(30 * time.Second)}},
			"POST api.example.com/v1/exports → poll …/status every 30s"},
		{Node{Request: Request{URL: "https://a.example/x"}, Callback: &Callback{Mode: ModePush}}, "GET a.example/x → wait for a pushed callback"},
		{Node{Request: Request{URL: "https://a.example/x"}, Callback: &Callback{Mode: ModeLocation}}, "GET a.example/x → poll its 202's Location"},
		{Node{Request: Request{URL: "https://a.example/x"}, Callback: &Callback{Mode: ModePushPoll, Request: Request{URL: "https://a.example/s"}}},
			"GET a.example/x → wait for a callback, poll …/s every 1m0s"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, c.node.Summary())
	}
	long := Node{Request: Request{URL: "https://a.example/" + strings.Repeat("é", 300)}}
	s := long.Summary()
	require.LessOrEqual(t, len(s), MaxSummaryBytes)
	require.True(t, strings.HasSuffix(s, "…"))
	require.NotContains(t, s, "\uFFFD")
}

func TestNode_Details(t *testing.T) {
	n := Node{Name: "export", Description: "nightly | orders", Request: Request{Method: "POST", URL: "https://api.example.com/x?k=v"},
		Callback: &Callback{Request: Request{URL: "https://api.example.com/s"}, MaxPolls: 5}, Timeout: Duration(time.Hour)}
	d := n.Details()
	for _, want := range []string{"**export** · nightly \\| orders", "| request | POST api.example.com/x → poll …/s every 10s |",
		"| wait budget | deadline 24h0m0s, at most 5 polls |", "| retry | 1 more attempt(s), 5m0s apart |", "| timeout | 1h0m0s |", "| on failure | abort |"} {
		require.Contains(t, d, want)
	}
	require.NotContains(t, d, "k=v")
}
