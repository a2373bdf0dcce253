package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/workflows"
)

// exportFile is the demo job service's export of about n bytes.
func exportFile(n int) []byte {
	var b bytes.Buffer
	_, _ = jobservice.WriteReport(&b, "e-1", n)
	return b.Bytes()
}

// A 50 MB export goes to the worker's body store by reference: the node's
// history grows by less than 2 KB next to the same node answered with a
// small body, the stored body matches its sha256, and a parent workflow
// reads outputs over the whole of a stored body (4 MB: its last row).
func TestHTTPNode_LargeBodiesByReference(t *testing.T) {
	big, medium := exportFile(50<<20), exportFile(4<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write(big)
		case "/medium":
			_, _ = w.Write(medium)
		default:
			fmt.Fprint(w, `{"report": "e-0", "rows": [], "count": 0}`)
		}
	}))
	t.Cleanup(srv.Close)
	f := newFixture(t)
	store, err := bodystore.Open(context.Background(), filepath.Join(t.TempDir(), "bodies"), nil)
	require.NoError(t, err)
	f.startWorkers(t, worker.Options{}, func(a *activities.Activities) { a.Bodies = store })
	node := func(path string) json.RawMessage {
		return json.RawMessage(`{"name": "export", "request": {"url": "` + srv.URL + path + `"}, "retry": {"count": 0}}`)
	}

	small, smallRun := runNode(t, f, "bodies-small-"+t.Name(), node("/small"))
	require.Nil(t, small.Response.BodyRef)
	res, run := runNode(t, f, "bodies-big-"+t.Name(), node("/big"))
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	ref := res.Response.BodyRef
	require.NotNil(t, ref)
	sum := sha256.Sum256(big)
	require.Equal(t, hex.EncodeToString(sum[:]), ref.SHA256)
	require.EqualValues(t, len(big), ref.Size)
	require.Equal(t, httpnode.CutByStore, res.Response.TruncatedBy)
	rd, err := store.Get(context.Background(), ref.URL)
	require.NoError(t, err)
	h := sha256.New()
	_, err = io.Copy(h, rd)
	require.NoError(t, err)
	require.NoError(t, rd.Close())
	require.Equal(t, ref.SHA256, hex.EncodeToString(h.Sum(nil)), "the stored body matches its sha256")

	size := func(r client.WorkflowRun) int { return proto.Size(f.history(t, r)) }
	added := size(run) - size(smallRun)
	t.Logf("history: %d bytes for a 50 MB body by reference, %d for a small body (+%d)", size(run), size(smallRun), added)
	require.Less(t, added, 2048, "history added by a 50 MB body")
	requirePayloadsWithin(t, f, run)
	record(t, "stored_body.json", f.history(t, run))

	// a parent workflow reads the outputs over the whole of a stored 4 MB body
	withOutputs := withFields(t, node("/medium"), `{"outputs": {"count": "body.count", "last": "body.rows[size(body.rows) - 1]"}}`)
	pw := worker.New(f.c, f.taskQueue+"-parents", worker.Options{})
	pw.RegisterWorkflow(exportParent)
	require.NoError(t, pw.Start())
	t.Cleanup(pw.Stop)
	prun, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "bodies-parent-" + t.Name(), TaskQueue: f.taskQueue + "-parents", WorkflowExecutionTimeout: time.Minute},
		exportParent, f.taskQueue, withOutputs)
	require.NoError(t, err)
	var got exported
	require.NoError(t, prun.Get(context.Background(), &got))
	require.Greater(t, got.Rows, 100000)
	require.Equal(t, fmt.Sprintf(`"%08d,customer %d,EUR,%d.00"`, got.Rows-1, got.Rows-1, (got.Rows-1)%997), got.LastRow)
	sum = sha256.Sum256(medium)
	require.Equal(t, hex.EncodeToString(sum[:]), got.Ref.SHA256)
}

// exported is what exportParent makes of its child node's result.
type exported struct {
	Rows    int
	LastRow string
	Ref     *httpnode.BodyRef
}

// exportParent is a parent workflow of the kind users write: it runs an
// HTTP node as its child (on the node workers' queue) and uses its outputs
// and the reference to its stored body.
func exportParent(ctx workflow.Context, queue string, node json.RawMessage) (exported, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{TaskQueue: queue})
	var res httpnode.Result
	if err := workflow.ExecuteChildWorkflow(ctx, workflows.HTTPNodeName, node).Get(ctx, &res); err != nil {
		return exported{}, err
	}
	out := exported{LastRow: string(res.Outputs["last"]), Ref: res.Response.BodyRef}
	err := json.Unmarshal(res.Outputs["count"], &out.Rows)
	return out, err
}
