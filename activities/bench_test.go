package activities

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/httpnode/httpnode/httpnode"
)

// The cost of the node's request path (secrets, building, capped read,
// masking) next to a bare http.Client.Do of the same request (same method,
// URL and headers, the same 30s per-try timeout) against the same loopback
// server:
//
//	go test ./activities -run XXX -bench 'SendRequest|BareClient' -benchmem -count 5
func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"taskId": "job-1", "status": "PROCESSING"}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkSendRequest(b *testing.B) {
	srv := benchServer(b)
	a := newActivities()
	r := request("POST", srv.URL+"/jobs")
	r.Auth, r.Headers = nil, map[string]string{"Authorization": "Bearer ${secret.TOKEN}"}
	in := SendRequestInput{Request: ready(r), IdempotencyKey: "k"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.SendRequest(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareClient(b *testing.B) {
	srv := benchServer(b)
	c := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		// the same request SendRequest sends, under the same per-try timeout
		ctx, cancel := context.WithTimeout(context.Background(), httpnode.DefaultRequestTimeout)
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/jobs", nil)
		req.Header.Set("Authorization", "Bearer tok-123456")
		req.Header.Set(HeaderIdempotencyKey, "k")
		req.Header.Set("User-Agent", UserAgent)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
	}
}
