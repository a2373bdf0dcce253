package activities

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/bodystore"
	"github.com/httpnode/httpnode/internal/jobservice"
)

// report is the demo job service's export of about n bytes:
// {"report": …, "rows": ["00000000,customer 0,EUR,0.00", …], "count": …}.
func report(n int) []byte {
	var b bytes.Buffer
	_, _ = jobservice.WriteReport(&b, "r-1", n)
	return b.Bytes()
}

// row is the report's row i.
func row(i int) string { return fmt.Sprintf(`"%08d,customer %d,EUR,%d.00"`, i, i, i%997) }

// serve answers every request with body (gzip-compressed when gz is set,
// for a client that asks) and counts the requests.
func serve(t *testing.T, body []byte, gz bool) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = zw.Write(body)
			_ = zw.Close()
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// dirStore is a directory store in a temporary directory.
func dirStore(t *testing.T, cd *codec.Codec) *bodystore.Store {
	s, err := bodystore.Open(context.Background(), filepath.Join(t.TempDir(), "bodies"), cd)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func stored(t *testing.T, s *bodystore.Store, ref *httpnode.BodyRef) []byte {
	t.Helper()
	require.NotNil(t, ref)
	r, err := s.Get(context.Background(), ref.URL)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// A body longer than maxResponseBytes goes whole to the store when the
// worker has one (decoded, when it came compressed): history keeps its
// first KiB and the reference; outputs see the whole body.
func TestSendRequest_LargeBodiesGoToTheStore(t *testing.T) {
	body := report(3 << 20)
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			srv, _ := serve(t, body, gz)
			a := newActivities()
			a.Bodies = dirStore(t, nil)
			r := request("GET", srv.URL)
			r.Headers = map[string]string{"Accept-Encoding": "gzip"}
			out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r),
				Outputs: map[string]string{"rows": "size(body.rows)", "total": "body.count", "last": "body.rows[size(body.rows)-1]", "text": "size(text)"}})
			require.NoError(t, err)
			resp := out.Response
			require.Equal(t, httpnode.CutByStore, resp.TruncatedBy)
			require.True(t, resp.Truncated)
			require.Equal(t, string(body[:httpnode.StoredExcerptBytes]), resp.Body)
			require.Equal(t, httpnode.BodyRef{URL: resp.BodyRef.URL, Size: int64(len(body)), SHA256: sha(body), ContentType: "application/json"}, *resp.BodyRef)
			require.True(t, strings.HasPrefix(resp.BodyRef.URL, a.Bodies.String()+"/local."), resp.BodyRef.URL)
			require.Equal(t, body, stored(t, a.Bodies, resp.BodyRef))
			var total int
			require.NoError(t, json.Unmarshal(out.Outputs["total"], &total))
			require.Greater(t, total, 50000)
			require.Equal(t, fmt.Sprint(total), string(out.Outputs["rows"]))
			require.Equal(t, row(total-1), string(out.Outputs["last"]))
			require.Equal(t, fmt.Sprint(1<<20), string(out.Outputs["text"]), "text is the first MiB")
		})
	}
	// without a store the body is cut, as before
	srv, _ := serve(t, body, false)
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", srv.URL))})
	require.NoError(t, err)
	require.Equal(t, httpnode.CutByLimit, out.Response.TruncatedBy)
	require.Nil(t, out.Response.BodyRef)
	require.Len(t, out.Response.Body, int(httpnode.DefaultMaxResponseBytes))
}

// request.storeBody stores a small body too (history keeps it whole), and
// on a worker without a store fails before anything is sent.
func TestSendRequest_StoreBody(t *testing.T) {
	body := []byte(`{"ok": true}`)
	srv, hits := serve(t, body, false)
	r := request("GET", srv.URL)
	r.StoreBody = true
	a := newActivities()
	a.Bodies = dirStore(t, nil)
	out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.False(t, out.Response.Truncated)
	require.Equal(t, string(body), out.Response.Body)
	require.Equal(t, body, stored(t, a.Bodies, out.Response.BodyRef))
	require.Equal(t, sha(body), out.Response.BodyRef.SHA256)

	_, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrNoBodyStore, false)
	require.Equal(t, "request.storeBody: this worker has no body store (start it with --body-store, or drop storeBody)", app.Message())
	require.EqualValues(t, 1, hits.Load(), "nothing sent by the worker without a store")
}

// A secret the remote echoes is masked in the stored body, wherever the
// chunks of the stream cut it.
func TestSendRequest_StoredBodiesAreMasked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("Authorization")
		for i := range 40 { // across many 32 KiB chunks, at shifting offsets
			fmt.Fprintf(w, "%s%s|", strings.Repeat("x", 32<<10-i*7), tok)
		}
	}))
	t.Cleanup(srv.Close)
	r := request("GET", srv.URL)
	r.StoreBody = true
	r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.TOKEN}"}
	a := newActivities()
	a.Bodies = dirStore(t, nil)
	out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.NotContains(t, out.Response.Body, "tok-", "the excerpt shows no part of it either")
	got := string(stored(t, a.Bodies, out.Response.BodyRef))
	require.NotContains(t, got, "tok-123456")
	require.Equal(t, 40, strings.Count(got, "x***|"))
	require.Equal(t, sha([]byte(got)), out.Response.BodyRef.SHA256, "the sum of what was stored")
}

// The masking stream masks as the string masker does, however its source
// is cut (one byte at a time, or with errors after data).
func TestMaskingReader(t *testing.T) {
	m := &masker{}
	m.add("s3cret-value")
	m.add("s3cret") // contained in the other: the longer is masked whole
	text := "a s3cret-value, a s3cret, s3cre, s3cret-valu" + strings.Repeat("-", 100) + "s3cret-value"
	for name, src := range map[string]io.Reader{
		"whole":     strings.NewReader(text),
		"bytewise":  iotest.OneByteReader(strings.NewReader(text)),
		"half":      iotest.HalfReader(strings.NewReader(text)),
		"data+eof":  iotest.DataErrReader(strings.NewReader(text)),
		"truncated": io.LimitReader(strings.NewReader(text), int64(len(text)-3)),
	} {
		want := m.String(text)
		if name == "truncated" {
			want = m.String(text[:len(text)-3])
		}
		got, err := io.ReadAll(&maskingReader{src: src, m: m})
		require.NoError(t, err, name)
		require.Equal(t, want, string(got), name)
	}
	require.NotContains(t, m.String(text), "s3cret")
}

// With payload encryption on, the stored body is encrypted with the active
// key: the file in the store does not show it, the store reads it back.
func TestSendRequest_StoredBodiesAreEncrypted(t *testing.T) {
	body := report(600 << 10)
	srv, _ := serve(t, body, false)
	secret := make([]byte, codec.KeySize)
	_, _ = rand.Read(secret)
	cd, err := codec.New(codec.Key{ID: "k1", Secret: secret})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "bodies")
	a := newActivities()
	a.Bodies, err = bodystore.Open(context.Background(), dir, cd)
	require.NoError(t, err)
	out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", srv.URL))})
	require.NoError(t, err)
	ref := out.Response.BodyRef
	require.Equal(t, "k1", ref.EncryptedWith)
	raw, err := os.ReadFile(filepath.Join(dir, bodystore.KeyOf(ref.URL)))
	require.NoError(t, err)
	require.NotContains(t, string(raw), `"rows"`)
	require.Equal(t, body, stored(t, a.Bodies, ref))
	require.Equal(t, sha(body), ref.SHA256)

	plain, err := bodystore.Open(context.Background(), dir, nil)
	require.NoError(t, err)
	_, err = plain.Get(context.Background(), ref.URL)
	require.ErrorContains(t, err, `is encrypted with key "k1": give the keys it was encrypted with (--encryption-keys)`)
}

// A body longer than the store takes is stored up to its limit, and says
// so; a body cut by the try's timeout is stored as far as it came.
func TestSendRequest_StoredBodiesThatAreCut(t *testing.T) {
	body := report(2 << 20)
	srv, _ := serve(t, body, false)
	a := newActivities()
	a.Bodies = dirStore(t, nil)
	a.Bodies.MaxBytes = 1 << 20
	out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", srv.URL))})
	require.NoError(t, err)
	require.Equal(t, httpnode.CutByStoreLimit, out.Response.TruncatedBy)
	require.Equal(t, int64(1<<20), out.Response.BodyRef.Size)
	require.Equal(t, body[:1<<20], stored(t, a.Bodies, out.Response.BodyRef))

	release := make(chan struct{})
	defer close(release)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body[:512<<10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	r := request("GET", slow.URL)
	r.Timeout = httpnode.Duration(500 * time.Millisecond)
	out, err = a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Equal(t, httpnode.CutByTimeout, out.Response.TruncatedBy)
	require.Equal(t, body[:512<<10], stored(t, a.Bodies, out.Response.BodyRef))
}

// A store that cannot take the body fails the try with a retryable
// BodyStore error.
func TestSendRequest_BodyStoreFailureIsRetried(t *testing.T) {
	srv, _ := serve(t, report(400<<10), false)
	a := newActivities()
	a.Bodies = dirStore(t, nil)
	require.NoError(t, a.Bodies.Close())
	_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", srv.URL))})
	app := requireAppError(t, err, httpnode.ErrBodyStore, true)
	require.Contains(t, app.Message(), "body store file://")
}

// A poll's large body is stored too, and its status read from the whole
// of it.
func TestCheckStatus_StoresALargeBody(t *testing.T) {
	body := []byte(strings.Replace(string(report(1<<20)), `{"report"`, `{"status": "SUCCESS", "report"`, 1))
	body = append(body[:len(body)-1], []byte(`, "outcome": "done"}`)...)
	srv, _ := serve(t, body, false)
	a := newActivities()
	a.Bodies = dirStore(t, nil)
	in := checkInput(srv.URL)
	in.Outputs = map[string]string{"outcome": "body.outcome"}
	out, err := a.CheckStatus(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, "SUCCESS", out.Status)
	require.Equal(t, `"done"`, string(out.Outputs["outcome"]))
	require.Equal(t, httpnode.CutByStore, out.Response.TruncatedBy)
	require.Equal(t, body, stored(t, a.Bodies, out.Response.BodyRef))
}

// The stored bodies that expressions read whole are parsed one at a time:
// a second waits for the first to be done with its body.
func TestSendRequest_StoredBodiesAreParsedOneAtATime(t *testing.T) {
	srv, _ := serve(t, report(400<<10), false)
	a := newActivities()
	a.Bodies = dirStore(t, nil)
	in := SendRequestInput{Request: ready(request("GET", srv.URL)), Outputs: map[string]string{"total": "body.count"}}
	parseSlot <- struct{}{} // as if another node's body were being parsed
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := a.SendRequest(ctx, in)
	require.ErrorIs(t, err, context.DeadlineExceeded, "it waited for the slot")
	<-parseSlot
	for range 3 { // each gives the slot back
		out, err := a.SendRequest(context.Background(), in)
		require.NoError(t, err)
		require.NotEmpty(t, out.Outputs["total"])
	}
	in.Outputs = nil
	parseSlot <- struct{}{}
	defer func() { <-parseSlot }()
	_, err = a.SendRequest(context.Background(), in)
	require.NoError(t, err, "a stored body no expression reads takes no slot")
}

// A secret the excerpt would cut in two is masked before the cut.
func TestSendRequest_StoredExcerptShowsNoPartOfASecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s%s%s", strings.Repeat("x", httpnode.StoredExcerptBytes-12), r.Header.Get("Authorization"), strings.Repeat("y", 1000))
	}))
	t.Cleanup(srv.Close)
	r := request("GET", srv.URL)
	r.StoreBody = true
	r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.TOKEN}"}
	a := newActivities()
	a.Bodies = dirStore(t, nil)
	out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("x", httpnode.StoredExcerptBytes-12)+"***"+strings.Repeat("y", 9), out.Response.Body)
}
