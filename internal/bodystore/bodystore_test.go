package bodystore

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/codec"
)

func put(t *testing.T, s *Store, key, body string) string {
	t.Helper()
	ref, cut, err := s.Put(context.Background(), key, "text/plain", strings.NewReader(body))
	require.NoError(t, err)
	require.False(t, cut)
	return ref.URL
}

func get(t *testing.T, s *Store, ref string) string {
	t.Helper()
	r, err := s.Get(context.Background(), ref)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}

// Every kind of store spec opens, and names its bodies by a URL that
// reads them back; a URL's query (where credentials may be) is not shown.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for spec, shown := range map[string]string{
		filepath.Join(dir, "a", "bodies"):                     "file://" + filepath.ToSlash(filepath.Join(dir, "a", "bodies")),
		"file://" + filepath.Join(dir, "b") + "?create_dir=1": "file://" + filepath.ToSlash(filepath.Join(dir, "b")),
		"mem://": "mem://",
	} {
		s, err := Open(context.Background(), spec, nil)
		require.NoError(t, err, spec)
		require.Equal(t, shown, s.String())
		ref := put(t, s, "run-1.5.1.abc", "hello")
		require.Equal(t, shown+"/run-1.5.1.abc", ref)
		require.Equal(t, "hello", get(t, s, ref))
		require.Equal(t, "hello", get(t, s, "run-1.5.1.abc"), "a key reads too")
		require.NoError(t, s.Close())
	}
	// an S3-compatible store opens without a round trip; its query is hidden
	s, err := Open(context.Background(), "s3://exports?region=eu-west-1&endpoint=http://127.0.0.1:9&use_path_style=true", nil)
	require.NoError(t, err)
	require.Equal(t, "s3://exports", s.String())
	require.NoError(t, s.Close())

	_, err = Open(context.Background(), "nosuch://x", nil)
	require.ErrorContains(t, err, `"nosuch://x" cannot be opened (use a directory, or a URL such as file:///var/lib/httpnode/bodies or s3://bucket?region=eu-west-1)`)
}

// A missing body says where it was looked for and why it may be gone.
func TestGetMissing(t *testing.T) {
	s, err := Open(context.Background(), "mem://", nil)
	require.NoError(t, err)
	_, err = s.Get(context.Background(), "mem:///nope")
	require.EqualError(t, err, `body "nope" is not in the store mem:// (it may have passed its retention, or be in another store)`)
}

// Put stops at MaxBytes and says the body was longer; a body of exactly
// MaxBytes is whole.
func TestPutMaxBytes(t *testing.T) {
	s, err := Open(context.Background(), "mem://", nil)
	require.NoError(t, err)
	s.MaxBytes = 5
	ref, cut, err := s.Put(context.Background(), "k1", "", strings.NewReader("123456789"))
	require.NoError(t, err)
	require.True(t, cut)
	require.EqualValues(t, 5, ref.Size)
	require.Equal(t, "12345", get(t, s, ref.URL))
	ref, cut, err = s.Put(context.Background(), "k2", "", strings.NewReader("12345"))
	require.NoError(t, err)
	require.False(t, cut)
	require.Equal(t, "12345", get(t, s, ref.URL))
}

// A failing source stores nothing.
func TestPutSourceErrorStoresNothing(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "b"), nil)
	require.NoError(t, err)
	_, _, err = s.Put(context.Background(), "k", "", io.MultiReader(strings.NewReader("part"), errReader{}))
	require.ErrorContains(t, err, "broken source")
	_, err = s.Get(context.Background(), "k")
	require.ErrorContains(t, err, "is not in the store")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken source") }

// Encrypted bodies read back with the keys (after a rotation too), and
// not without them.
func TestEncrypted(t *testing.T) {
	key := func(id string) codec.Key {
		b := make([]byte, codec.KeySize)
		_, _ = rand.Read(b)
		return codec.Key{ID: id, Secret: b}
	}
	old := key("old")
	c1, err := codec.New(old)
	require.NoError(t, err)
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, c1)
	require.NoError(t, err)
	ref, _, err := s.Put(context.Background(), "k", "application/json", strings.NewReader(`{"a": 1}`))
	require.NoError(t, err)
	require.Equal(t, "old", ref.EncryptedWith)
	require.Equal(t, "application/json", ref.ContentType)

	c2, err := codec.New(key("new"), old)
	require.NoError(t, err)
	rotated, err := Open(context.Background(), dir, c2)
	require.NoError(t, err)
	require.Equal(t, `{"a": 1}`, get(t, rotated, ref.URL))

	c3, err := codec.New(key("other"))
	require.NoError(t, err)
	other, err := Open(context.Background(), dir, c3)
	require.NoError(t, err)
	_, err = other.Get(context.Background(), ref.URL)
	require.ErrorContains(t, err, `encrypted with key "old", which this worker does not have`)
}

// Sweep deletes what was stored before the cutoff, and only that.
func TestSweep(t *testing.T) {
	for _, spec := range []string{"mem://", t.TempDir()} {
		s, err := Open(context.Background(), spec, nil)
		require.NoError(t, err)
		put(t, s, "a", "1")
		put(t, s, "b", "2")
		n, err := s.Sweep(context.Background(), time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.Zero(t, n, spec)
		n, err = s.Sweep(context.Background(), time.Now().Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, 2, n, spec)
		_, err = s.Get(context.Background(), "a")
		require.ErrorContains(t, err, "is not in the store")
	}
}

// SweepEvery sweeps at once and reports what it deleted.
func TestSweepEvery(t *testing.T) {
	s, err := Open(context.Background(), "mem://", nil)
	require.NoError(t, err)
	put(t, s, "a", "1")
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deleted := make(chan int, 1)
	go s.SweepEvery(ctx, time.Millisecond, func(n int, err error) {
		require.NoError(t, err)
		deleted <- n
	})
	select {
	case n := <-deleted:
		require.Equal(t, 1, n)
	case <-time.After(10 * time.Second):
		t.Fatal("no sweep")
	}
}

func TestKeyOf(t *testing.T) {
	require.Equal(t, "run.1.1.x", KeyOf("file:///var/lib/b/run.1.1.x"))
	require.Equal(t, "run.1.1.x", KeyOf("s3://bucket/run.1.1.x"))
	require.Equal(t, "run.1.1.x", KeyOf("run.1.1.x"))
}

// A failed Put leaves no file behind in a directory store.
func TestPutFailureLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, nil)
	require.NoError(t, err)
	_, _, err = s.Put(context.Background(), "k", "text/csv", io.MultiReader(strings.NewReader(strings.Repeat("row\n", 40<<10)), errReader{}))
	require.Error(t, err)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left)
}
