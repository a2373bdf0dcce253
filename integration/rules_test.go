package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

// exportAPI is an API of the kind the seeds call: success and its error
// codes are in the body. POST /exports answers {"code": <mainCode>, ...};
// GET /exports/<id> lists the parts still running, none from its third poll,
// when the file is ready.
func exportAPI(t *testing.T, mainCode int) (*httptest.Server, *atomic.Int64) {
	var polls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /exports", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"code": %d, "msg": "ok", "data": {"exportId": "e-1"}}`, mainCode)
	})
	mux.HandleFunc("GET /exports/{id}", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			fmt.Fprint(w, `{"state": "RUNNING", "running": ["part-2"]}`)
			return
		}
		fmt.Fprint(w, `{"state": "READY", "running": [], "file": {"url": "https://files.example/e-1.csv", "rows": "1200"}}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &polls
}

// rulesNode judges the main response by its body code, waits until no part
// is running, and names two outputs of the final poll.
func rulesNode(url, mode string) json.RawMessage {
	return json.RawMessage(`{
		"name": "export",
		"request": {"method": "POST", "url": "` + url + `/exports",
			"successWhen": "body.code == 0",
			"failWhen": [{"when": "body.code == 1001", "message": "quota exceeded"}, {"when": "body.code == 429", "message": "slow down", "retry": true}]},
		"callback": {"url": "` + url + `/exports", "interval": "1s", "taskIdField": "data.exportId", "statusField": "state", "mode": "` + mode + `",
			"successWhen": "size(body.running) == 0",
			"failWhen": [{"when": "body.state == 'FAILED'", "message": "the export failed"}]},
		"outputs": {"fileUrl": "body.file.url", "rows": "int(body.file.rows)", "polls": "polls"},
		"retry": {"count": 0}
	}`)
}

// Rules and outputs end to end, in every polling mode: the main response
// judged by its body, each poll by successWhen, the outputs in the result.
func TestHTTPNode_RulesAndOutputs(t *testing.T) {
	for _, mode := range []string{httpnode.ModeTimer, httpnode.ModeActivity, httpnode.ModeRetry} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			f.startWorker(t)
			api, polls := exportAPI(t, 0)
			run := f.start(t, rulesNode(api.URL, mode))
			res := resultOf(t, run)
			require.Equal(t, httpnode.StatusSucceeded, res.Status)
			require.EqualValues(t, 3, polls.Load())
			require.Equal(t, "READY", res.CallbackStatus)
			require.Equal(t, map[string]json.RawMessage{
				"fileUrl": json.RawMessage(`"https://files.example/e-1.csv"`), "rows": json.RawMessage(`1200`), "polls": json.RawMessage(`3`),
			}, res.Outputs)
			if mode == httpnode.ModeTimer {
				record(t, "rules_and_outputs.json", f.history(t, run))
			}
		})
	}
}

// A body code that a failWhen rule maps ends the node with the rule's
// message; successWhen false ends it too.
func TestHTTPNode_FailWhenAndSuccessWhen(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	for code, want := range map[int]string{
		1001: `request: quota exceeded (failWhen "body.code == 1001", HTTP 200)`,
		7:    `request: successWhen "body.code == 0" is false of the response (HTTP 200)`,
	} {
		api, polls := exportAPI(t, code)
		node := withFields(t, rulesNode(api.URL, httpnode.ModeTimer), `{"onFailure": "continue"}`)
		run := f.startNamed(t, fmt.Sprint("code-", code), node)
		res := resultOf(t, run)
		require.Equal(t, httpnode.StatusFailed, res.Status)
		require.Equal(t, httpnode.ErrResponseRule, res.Error.Type)
		require.Contains(t, res.Error.Message, want)
		require.Zero(t, polls.Load(), "no wait after a refused main response")
		require.Empty(t, res.Outputs)
	}
}

// A node started without the starter's check (a parent, the Temporal CLI)
// whose expression does not compile fails as invalid before its main
// request is sent.
func TestHTTPNode_BadExpressionSendsNothing(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api, polls := exportAPI(t, 0)
	var sent atomic.Int64
	guard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		api.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(guard.Close)
	node := withFields(t, rulesNode(guard.URL, httpnode.ModeTimer), `{"onFailure": "continue", "outputs": {"rows": "int(body.file.rows"}}`)
	res := resultOf(t, f.start(t, node))
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrInvalidNode, res.Error.Type)
	require.Contains(t, res.Error.Message, `outputs.rows: "int(body.file.rows": Syntax error`)
	require.Equal(t, 1, res.Attempts)
	require.Zero(t, sent.Load(), "nothing was sent")
	require.Zero(t, polls.Load())
}
