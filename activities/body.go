package activities

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
)

// bodyRead is a response body as the activities hold it.
type bodyRead struct {
	// body is what lookups and expressions read: the body up to the
	// request's maxResponseBytes, or, for a stored body that the node's
	// expressions read, the whole of it up to httpnode.MaxParsedBodyBytes.
	body []byte
	// shown is what the response in history shows: body, or the start of
	// a stored body.
	shown []byte
	// cut says why shown is shorter than the body as sent: a
	// httpnode.CutBy* value, or "" when it is whole.
	cut string
	ref *httpnode.BodyRef
	// release gives back the parse slot a stored body that expressions
	// read holds (nil when none).
	release func()
}

// parseSlot is held by the one stored body at a time that the node's
// expressions read whole: parsed, such a body takes 8 to 15 times its
// size in memory (127 MiB for the 16 MiB export of BenchmarkLargeBody),
// so the worker parses one at a time, whatever its
// --max-concurrent-activities.
var parseSlot = make(chan struct{}, 1)

// readBody reads a response body, decoded when the remote compressed it
// (see bodyStream). The body goes to the worker's body store when the
// request asks (storeBody) or, with opts.store, when it is longer than
// maxResponseBytes and the worker has a store; then it is streamed there,
// the node's secrets masked in it, and never held whole (but as far as
// opts.readsBody needs). A read error is returned with what was read
// before it; a stored body keeps what arrived.
func (a *Activities) readBody(ctx context.Context, resp *http.Response, r httpnode.Request, opts sendOptions, m *masker) (bodyRead, error) {
	limit := r.MaxResponseBytes
	stream := bodyStream(resp)
	size := int64(-1) // the size of what stream gives, when known
	switch {
	case resp.Body == http.NoBody: // HEAD, 204, 304: a Content-Length, but no body
		size = 0
	case stream == resp.Body:
		size = resp.ContentLength
	}
	src := &tap{r: stream}
	prefix, err := readUpTo(src, limit+1, size)
	if err != nil && !cutByTimeout(ctx, err) {
		return bodyRead{}, err
	}
	if a.Bodies == nil || !opts.store || (!r.StoreBody && int64(len(prefix)) <= limit) {
		var cut string
		if int64(len(prefix)) > limit {
			prefix, cut = prefix[:limit], httpnode.CutByLimit
		}
		return bodyRead{body: prefix, shown: prefix, cut: cut}, err
	}
	src.eofOnErr = true // what arrived is stored; the error is reported below
	var kept *capped
	rest := io.Reader(src)
	release := func() {}
	if opts.readsBody {
		select {
		case parseSlot <- struct{}{}:
			release = sync.OnceFunc(func() { <-parseSlot })
		case <-ctx.Done():
			return bodyRead{}, ctx.Err()
		}
		kept = &capped{max: httpnode.MaxParsedBodyBytes}
		kept.Write(prefix)
		rest = io.TeeReader(src, kept)
	}
	stored := io.MultiReader(bytes.NewReader(prefix), rest)
	if len(m.values) > 0 {
		stored = &maskingReader{src: stored, m: m}
	}
	key := bodyKey(ctx)
	ref, cutByStore, perr := a.Bodies.Put(ctx, key, resp.Header.Get("Content-Type"), stored)
	if perr != nil {
		release()
		return bodyRead{}, temporal.NewApplicationError(m.String(perr.Error()), httpnode.ErrBodyStore)
	}
	if err == nil {
		err = src.err
	}
	if err != nil && !cutByTimeout(ctx, err) {
		_ = a.Bodies.Delete(ctx, key) // the try fails: nobody will read it
		release()
		return bodyRead{}, err
	}
	// masked before it is cut, so that no secret shows in part
	shown := excerpt([]byte(m.String(string(prefix))), httpnode.StoredExcerptBytes)
	out := bodyRead{body: prefix[:min(int64(len(prefix)), limit)], shown: shown, ref: &ref, release: release}
	if kept != nil && !kept.over {
		out.body = kept.buf.Bytes()
	}
	switch {
	case cutByStore:
		out.cut = httpnode.CutByStoreLimit
	case err != nil:
		out.cut = httpnode.CutByTimeout
	case ref.Size > int64(len(out.shown)):
		out.cut = httpnode.CutByStore
	}
	return out, err
}

// bodyKey names a stored body after the activity that read it: the run,
// the activity and its attempt, and a random part (an activity-mode wait
// reads many bodies).
func bodyKey(ctx context.Context) string {
	suffix := rand.Text()[:10]
	if !activity.IsActivity(ctx) {
		return "local." + suffix
	}
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.RunID + "." + info.ActivityID + "." + strconv.Itoa(int(info.Attempt)) + "." + suffix
}

// excerpt is the start of b, at most n bytes, not cutting a UTF-8
// character in two.
func excerpt(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	cut := n
	for cut > n-utf8.UTFMax && cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	if !utf8.RuneStart(b[cut]) { // not text: cut anywhere
		cut = n
	}
	return b[:cut]
}

// cutByTimeout says whether err, from reading a body, is the try's
// timeout passing while it arrived (the body is then kept as far as it
// came), not a failure of the transport or the activity's end.
func cutByTimeout(ctx context.Context, err error) bool {
	return ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
}

// readUpTo reads at most n bytes of r. When r's size is known (and below
// n) the buffer is made at its size at once.
func readUpTo(r io.Reader, n, size int64) ([]byte, error) {
	if size >= 0 && size < n {
		buf := make([]byte, size)
		got, err := io.ReadFull(r, buf)
		return buf[:got], err
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(io.LimitReader(r, n))
	return buf.Bytes(), err
}

// tap passes reads through and keeps the first error; with eofOnErr it
// ends the stream there instead of passing the error on.
type tap struct {
	r        io.Reader
	err      error
	eofOnErr bool
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		if t.err == nil {
			t.err = err
		}
		if t.eofOnErr {
			return n, io.EOF
		}
	}
	return n, err
}

// capped keeps what is written up to max bytes; over says more came.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if c.over || c.buf.Len()+len(p) > c.max {
		c.over = true
		c.buf = bytes.Buffer{} // not needed any more
		return len(p), nil
	}
	return c.buf.Write(p)
}

// probeBytes is how much of a compressed body is decoded before it is
// trusted to be what its Content-Encoding says.
const probeBytes = 4 << 10

// bodyStream returns resp's body decoded when the remote compressed it with
// gzip or deflate (zlib-wrapped, as the standard says, or raw, as some
// servers send it): Go decodes only what it asked for itself, and a node
// that sets Accept-Encoding, or a server that sends deflate, would otherwise
// leave the body compressed, and no field could be looked up in it. A body
// whose start does not decode is read as it came; a stream that breaks off
// later keeps what decoded. Transport errors pass through.
func bodyStream(resp *http.Response) io.Reader {
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if resp.Body == http.NoBody || resp.Uncompressed || (enc != "gzip" && enc != "x-gzip" && enc != "deflate") {
		return resp.Body
	}
	raw := &tap{r: resp.Body}
	br := bufio.NewReaderSize(raw, probeBytes)
	start, _ := br.Peek(probeBytes)
	open := func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	if enc == "deflate" {
		open = func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }
		if len(start) >= 2 && start[0]&0x0f == 8 && (uint16(start[0])<<8|uint16(start[1]))%31 == 0 {
			open = func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }
		}
	}
	if len(start) == 0 || !decodes(open, start) {
		return br
	}
	d, err := open(br)
	if err != nil {
		return br
	}
	return &decoded{d: d, raw: raw}
}

// decodes says whether start, the first bytes of a body, decode with open
// (to their end, or as far as they go when they are only the start).
func decodes(open func(io.Reader) (io.Reader, error), start []byte) bool {
	d, err := open(bytes.NewReader(start))
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, io.LimitReader(d, 64<<10))
	return err == nil || err == io.ErrUnexpectedEOF
}

// decoded is a decoding stream that ends where the data stops decoding,
// but passes on the errors of the transport under it.
type decoded struct {
	d   io.Reader
	raw *tap
}

func (d *decoded) Read(p []byte) (int, error) {
	n, err := d.d.Read(p)
	if err != nil && err != io.EOF && (d.raw.err == nil || d.raw.err == io.EOF) {
		return n, io.EOF // corrupt or cut short: keep what decoded
	}
	if err != nil && d.raw.err != nil {
		return n, d.raw.err
	}
	return n, err
}

// maskingReader masks the node's secrets in a stream, as m.String does in
// a string: it holds back the last (longest secret - 1) bytes of what it
// read until it knows no secret starts there.
type maskingReader struct {
	src     io.Reader
	m       *masker
	in, out []byte
	eof     bool
	chunk   []byte
}

func (r *maskingReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.eof && len(r.in) == 0 {
			return 0, io.EOF
		}
		if !r.eof {
			if r.chunk == nil {
				r.chunk = make([]byte, 32<<10)
			}
			n, err := r.src.Read(r.chunk)
			r.in = append(r.in, r.chunk[:n]...)
			if err == io.EOF {
				r.eof = true
			} else if err != nil {
				return 0, err
			}
		}
		r.scan()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// scan moves what is known to be masked from in to out: a secret is
// masked where it starts first (the longest of those that start there),
// once the bytes after it are read, so that a longer secret it begins is
// seen whole.
func (r *maskingReader) scan() {
	longest := len(r.m.values[0]) // the values are longest first
	for {
		at, v := -1, ""
		for _, s := range r.m.values {
			if i := bytes.Index(r.in, []byte(s)); i >= 0 && (at < 0 || i < at) {
				at, v = i, s
			}
		}
		if at >= 0 && (r.eof || at+longest <= len(r.in)) {
			r.out = append(append(r.out, r.in[:at]...), mask...)
			r.in = r.in[at+len(v):]
			continue
		}
		safe := len(r.in)
		if !r.eof {
			safe -= longest - 1 // a secret may start there
		}
		if at >= 0 {
			safe = min(safe, at)
		}
		if safe > 0 {
			r.out = append(r.out, r.in[:safe]...)
			r.in = append(r.in[:0:0], r.in[safe:]...)
		}
		return
	}
}
