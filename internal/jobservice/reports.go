package jobservice

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// report serves GET /reports/{id}: an export of ?mb= megabytes, written
// row by row as it is made (the service never holds it).
func (s *Service) report(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	mb := 10
	if v := r.URL.Query().Get("mb"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			reply(w, http.StatusBadRequest, map[string]string{"error": "mb must be a whole number of megabytes from 1 to 200"})
			return
		}
		mb = n
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = WriteReport(w, r.PathValue("id"), mb<<20)
}

// WriteReport writes the export GET /reports/{id} serves, of about size
// bytes (at most size): {"report": id, "rows": ["00000000,customer 0,EUR,0.00",
// ...], "count": rows}. The same id and size always give the same bytes.
func WriteReport(w io.Writer, id string, size int) (rows int, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	n, _ := fmt.Fprintf(bw, `{"report": %q, "rows": [`, id)
	for n < size-64 {
		if rows > 0 {
			n++
			_ = bw.WriteByte(',')
		}
		m, _ := fmt.Fprintf(bw, `"%08d,customer %d,EUR,%d.00"`, rows, rows, rows%997)
		n += m
		rows++
	}
	fmt.Fprintf(bw, `], "count": %d}`, rows)
	return rows, bw.Flush()
}
