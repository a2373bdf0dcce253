package jobservice

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

// newService returns a service closed when the test ends.
func newService(t *testing.T) *Service {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

// waitCtx bounds a wait; it is a safety net, never an assertion on speed.
func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do sends a request to h and returns the status, headers and JSON body.
func do(t *testing.T, h http.Handler, method, path, body string, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	}
	return rec.Code, rec.Header(), out
}

// submit starts a job with body on POST /jobs and returns its id.
func submit(t *testing.T, h http.Handler, body string) string {
	t.Helper()
	code, _, out := do(t, h, "POST", "/jobs", body, nil)
	require.Equal(t, http.StatusOK, code, out)
	id, _ := out["taskId"].(string)
	require.NotEmpty(t, id)
	return id
}

// received is a request the receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a callback endpoint on 127.0.0.1 that answers codes in turn,
// then 200, and records what it gets.
type receiver struct {
	URL   string
	mu    sync.Mutex
	codes []int
	got   []received
}

func newReceiver(t *testing.T, codes ...int) *receiver {
	t.Helper()
	rc := &receiver{codes: codes}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		code := http.StatusOK
		if len(rc.codes) > 0 {
			code, rc.codes = rc.codes[0], rc.codes[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/callback"
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// reported decodes a callback body: the task id and the status (json) or
// the JobsDetail.State (xml) it reports.
func reported(t *testing.T, format string, body []byte) (taskID, state string) {
	t.Helper()
	if format == httpnode.FormatXML {
		var doc httpnode.TaskFinish
		require.NoError(t, xml.Unmarshal(body, &doc), string(body))
		require.Equal(t, httpnode.TaskFinishEvent, doc.EventName)
		require.Equal(t, doc.JobsDetail.JobID, doc.JobsDetail.Output.TaskID)
		return doc.JobsDetail.JobID, doc.JobsDetail.State
	}
	var msg struct{ TaskID, Status string }
	require.NoError(t, json.Unmarshal(body, &msg), string(body))
	return msg.TaskID, msg.Status
}
