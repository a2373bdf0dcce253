package activities

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"

	"github.com/httpnode/httpnode/httpnode"
)

// readBody reads a response body through the cap of limit bytes, decoded
// when the remote compressed it with gzip or deflate (Go decodes only what
// it asked for itself: a node that sets Accept-Encoding, or a server that
// sends deflate, would otherwise leave the body compressed, and no field
// could be looked up in it). cut says why the body is shorter than sent:
// httpnode.CutByLimit, or "" when it is whole. A read error is returned with
// what was read before it.
func readBody(resp *http.Response, limit int64) (body []byte, cut string, err error) {
	body, err = readCapped(resp, limit)
	if enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); !resp.Uncompressed && enc != "" && len(body) > 0 {
		if decoded, ok := decode(enc, body, limit); ok {
			body = decoded
		}
	}
	if int64(len(body)) > limit {
		body, cut = body[:limit], httpnode.CutByLimit
	}
	return body, cut, err
}

// readCapped reads at most limit bytes of the body and one more, to tell a
// body of exactly limit bytes from a longer one. With a Content-Length the
// body is read into a buffer of its size at once.
func readCapped(resp *http.Response, limit int64) ([]byte, error) {
	if resp.Body == http.NoBody { // HEAD, 204, 304: a Content-Length, but no body
		return nil, nil
	}
	if resp.ContentLength < 0 || resp.ContentLength > limit {
		var buf bytes.Buffer
		_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
		return buf.Bytes(), err
	}
	buf := make([]byte, resp.ContentLength)
	n, err := io.ReadFull(resp.Body, buf)
	return buf[:n], err
}

// decode decompresses a gzip or deflate body (zlib-wrapped, as the standard
// says, or raw, as some servers send it) to at most limit+1 bytes, so a
// small body cannot expand past the cap. ok is false for another encoding
// or data that does not decode at all; a stream cut short (the raw body was
// capped) keeps what decoded.
func decode(enc string, raw []byte, limit int64) ([]byte, bool) {
	var readers []func() (io.Reader, error)
	switch enc {
	case "gzip", "x-gzip":
		readers = append(readers, func() (io.Reader, error) { return gzip.NewReader(bytes.NewReader(raw)) })
	case "deflate":
		readers = append(readers,
			func() (io.Reader, error) { return zlib.NewReader(bytes.NewReader(raw)) },
			func() (io.Reader, error) { return flate.NewReader(bytes.NewReader(raw)), nil })
	}
	for _, open := range readers {
		r, err := open()
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(io.LimitReader(r, limit+1))
		if err == nil || (err == io.ErrUnexpectedEOF && buf.Len() > 0) {
			return buf.Bytes(), true
		}
	}
	return nil, false
}
