// Package bodystore keeps response bodies too large for workflow history in
// a blob store (gocloud.dev/blob: a directory, S3 or an S3-compatible
// server, or memory for tests), streamed in and out, never held whole, and
// encrypted with the worker's payload keys when it has them.
package bodystore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob" // mem://, for tests and trials
	_ "gocloud.dev/blob/s3blob"  // s3://bucket?region=…&endpoint=…&use_path_style=true
	"gocloud.dev/gcerrors"

	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/httpnode"
)

// DefaultMaxBytes is the largest body the store takes by default
// (worker --body-max-bytes); DefaultRetention how long it keeps one.
const (
	DefaultMaxBytes  = 1 << 30
	DefaultRetention = 7 * 24 * time.Hour
)

// Store is a bucket of response bodies. It is safe for concurrent use.
type Store struct {
	bucket *blob.Bucket
	// shown is the store's URL without its query, the prefix of every
	// BodyRef.URL.
	shown string
	// codec encrypts what is stored; nil stores plain bodies.
	codec *codec.Codec
	// MaxBytes bounds one body: the rest of a longer one is not stored.
	MaxBytes int64
}

// Open opens the store named by spec: a blob URL (file:///var/lib/httpnode/bodies,
// s3://bucket?region=eu-west-1, mem://) or a directory, made if missing.
// Bodies are encrypted with cd when it is not nil.
func Open(ctx context.Context, spec string, cd *codec.Codec) (*Store, error) {
	s := &Store{codec: cd, MaxBytes: DefaultMaxBytes}
	var err error
	if !strings.Contains(spec, "://") {
		dir, aerr := filepath.Abs(spec)
		if aerr != nil {
			return nil, fmt.Errorf("%q is not a directory path: %v", spec, aerr)
		}
		// temporary files next to the bodies: a rename from os.TempDir
		// fails when the directory is on another volume
		s.bucket, err = fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, DirFileMode: 0o700, NoTempDir: true})
		s.shown = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
	} else {
		s.bucket, err = blob.OpenBucket(ctx, spec)
		u, _ := url.Parse(spec)
		if u != nil {
			u.RawQuery, u.Fragment, u.User = "", "", nil
			s.shown = u.Scheme + "://" + strings.TrimSuffix(u.Host+u.Path, "/")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%q cannot be opened (use a directory, or a URL such as file:///var/lib/httpnode/bodies or s3://bucket?region=eu-west-1): %v", spec, err)
	}
	return s, nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// String is the store's URL, without its query.
func (s *Store) String() string { return s.shown }

// URL is the BodyRef.URL of key.
func (s *Store) URL(key string) string { return s.shown + "/" + key }

// KeyOf is the key of ref, a key or a BodyRef.URL (its last path segment).
func KeyOf(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 && strings.Contains(ref, "://") {
		return ref[i+1:]
	}
	return ref
}

// Put streams src to key, to src's end (io.EOF) or MaxBytes (cut is then
// true: src had more). Any error, src's or the store's, fails it and
// nothing is stored (a caller that keeps what arrived of a body turns
// src's errors into io.EOF). The ref has the size and sha256 of what was
// stored, before encryption.
func (s *Store) Put(ctx context.Context, key, contentType string, src io.Reader) (ref httpnode.BodyRef, cut bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := &blob.WriterOptions{ContentType: contentType, Metadata: map[string]string{}}
	if s.codec != nil {
		opts.ContentType = "application/octet-stream"
		opts.Metadata["encrypted-with"] = s.codec.ActiveKeyID()
		opts.Metadata["plain-content-type"] = contentType
	}
	bw, err := s.bucket.NewWriter(wctx, key, opts)
	if err != nil {
		return ref, false, s.fail("cannot store a body", err)
	}
	n, digest, cut, err := s.copy(bw, src)
	if err != nil {
		cancel() // an unfinished body is dropped, not committed
		_ = bw.Close()
		return ref, false, err
	}
	if err := bw.Close(); err != nil {
		return ref, false, s.fail("cannot store a body", err)
	}
	ref = httpnode.BodyRef{URL: s.URL(key), Size: n, SHA256: digest, ContentType: contentType}
	if s.codec != nil {
		ref.EncryptedWith = s.codec.ActiveKeyID()
	}
	return ref, cut, nil
}

// copy writes src to w, encrypted when the store encrypts, up to MaxBytes:
// n and digest are the size and sha256 of what was written before
// encryption; cut says src had more.
func (s *Store) copy(w io.Writer, src io.Reader) (n int64, digest string, cut bool, err error) {
	var enc io.WriteCloser
	if s.codec != nil {
		if enc, err = s.codec.EncryptStream(w); err != nil {
			return 0, "", false, err
		}
		w = enc
	}
	h := sha256.New()
	if n, err = io.Copy(io.MultiWriter(w, h), io.LimitReader(src, s.MaxBytes)); err != nil {
		return n, "", false, s.fail("cannot store a body", err)
	}
	if n == s.MaxBytes {
		var one [1]byte
		m, _ := io.ReadFull(src, one[:])
		cut = m > 0
	}
	if enc != nil {
		if err := enc.Close(); err != nil {
			return n, "", false, s.fail("cannot store a body", err)
		}
	}
	return n, hex.EncodeToString(h.Sum(nil)), cut, nil
}

// Get opens the body at ref (a key or a BodyRef.URL) to read, decrypted
// when it was stored encrypted.
func (s *Store) Get(ctx context.Context, ref string) (io.ReadCloser, error) {
	key := KeyOf(ref)
	attrs, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fmt.Errorf("body %q is not in the store %s (it may have passed its retention, or be in another store)", key, s.shown)
		}
		return nil, s.fail("cannot read body "+key, err)
	}
	keyID := attrs.Metadata["encrypted-with"]
	if keyID != "" && s.codec == nil {
		return nil, fmt.Errorf("body %q is encrypted with key %q: give the keys it was encrypted with (--encryption-keys)", key, keyID)
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, s.fail("cannot read body "+key, err)
	}
	if keyID == "" {
		return r, nil
	}
	plain, err := s.codec.DecryptStream(r)
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("body %q: %v", key, err)
	}
	return readCloser{plain, r}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Delete removes the body at key; a missing body is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return s.fail("cannot delete body "+key, err)
	}
	return nil
}

// Sweep deletes the bodies stored before cutoff and returns how many.
func (s *Store) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	it := s.bucket.List(nil)
	n := 0
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, s.fail("cannot list bodies", err)
		}
		if obj.IsDir || !obj.ModTime.Before(cutoff) {
			continue
		}
		if err := s.Delete(ctx, obj.Key); err != nil {
			return n, err
		}
		n++
	}
}

// SweepEvery sweeps the bodies older than retention now and then every
// retention/24 (at most hourly), until ctx is done; report hears of each
// sweep that deleted something or failed.
func (s *Store) SweepEvery(ctx context.Context, retention time.Duration, report func(deleted int, err error)) {
	every := min(retention/24, time.Hour)
	for {
		if n, err := s.Sweep(ctx, time.Now().Add(-retention)); (n > 0 || err != nil) && ctx.Err() == nil {
			report(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// fail wraps a store error, naming the store but not its query (which may
// hold credentials).
func (s *Store) fail(what string, err error) error {
	return fmt.Errorf("body store %s: %s: %v", s.shown, what, err)
}

// Usage is the help of --body-store, the worker's and the starter's.
const Usage = "where response bodies too large for history go (request.storeBody, or a body longer than maxResponseBytes): a directory, or a URL: file:///var/lib/httpnode/bodies, s3://bucket?region=eu-west-1 (S3-compatible servers: &endpoint=https://minio:9000&use_path_style=true), mem://; --dev: <dev-data-dir>/bodies (HTTPNODE_BODY_STORE)"
