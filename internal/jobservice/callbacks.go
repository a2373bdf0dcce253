package jobservice

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/webhook"
)

// Delivery is one attempt to POST a callback. A job's callbacks are sent in
// order, one at a time: the PROCESSING one (with callbackProgress) first,
// then the final one. Each callback is a delivery with message id
// "msg_<taskId>_<n>" (n = 1, 2, ... per job), sent as the webhook-id header
// of every attempt, with webhook-timestamp the attempt's send time and, when
// Service.CallbackSecrets is set, webhook-signature. An attempt that gets no
// answer or an answer other than 2xx or 4xx is retried after a backoff
// (Service.CallbackRetries, Service.CallbackBackoff); a 4xx answer is final.
//
// The body is, with callbackFormat "json" (Content-Type application/json):
//
//	{"taskId":"job-...","status":"SUCCESS"}
//
// and with "xml" (Content-Type application/xml) an httpnode.TaskFinish
// document: <Response><EventName>TaskFinish</EventName><JobsDetail> with Code
// and State "Success" for the status SUCCESS, "Failed" for any other final
// status, State "Running" and an empty Code for the PROCESSING callback;
// JobId and Output.TaskId the task id, Output.RemoteStatus the status,
// Message a sentence, CreationTime, StartTime and (when ended) EndTime in
// RFC 3339 UTC.
type Delivery struct {
	// TaskID is the job's id.
	TaskID string
	// JobStatus is the status the callback reports: Pending for the
	// progress callback, else the job's final status.
	JobStatus string
	// MessageID is the webhook-id header, the same on every attempt.
	MessageID string
	// Attempt is 1 for the first attempt of the delivery, 2 for its first
	// retry, and so on.
	Attempt int
	// URL is the callbackUrl.
	URL string
	// Time is when the attempt was sent.
	Time time.Time
	// Headers and Body are the request as sent.
	Headers http.Header
	Body    []byte
	// Status is the receiver's status code, 0 when it did not answer.
	Status int
	// Err is the transport error when it did not answer, else "".
	Err string
	// Last reports that no further attempt of this delivery follows: it got
	// a 2xx or 4xx answer, ran out of retries, or the service is closing.
	Last bool
}

// callback is a job's push configuration and delivery state.
type callback struct {
	url, format string
	progress    bool
	timer       *time.Timer   // ends the job by time; nil for Polls jobs
	ended       bool          // the final callback is scheduled
	sent        int           // deliveries scheduled, for message ids
	last        chan struct{} // closed when the previous delivery is over
}

// newCallback validates the callback fields of req; nil without a URL.
func newCallback(req Request) (*callback, error) {
	format := strings.ToLower(req.CallbackFormat)
	if format == "" {
		format = httpnode.FormatJSON
	}
	if format != httpnode.FormatJSON && format != httpnode.FormatXML {
		return nil, fmt.Errorf(`callbackFormat: %q is not supported (use "json" or "xml")`, req.CallbackFormat)
	}
	if req.CallbackURL == "" {
		if req.CallbackProgress {
			return nil, fmt.Errorf("callbackProgress: needs callbackUrl (set the URL to POST callbacks to)")
		}
		return nil, nil
	}
	u, err := url.Parse(req.CallbackURL)
	if err != nil || !httpnode.IsAbsoluteHTTP(u) {
		return nil, fmt.Errorf("callbackUrl: not an absolute http or https URL (send e.g. http://127.0.0.1:9000/callback)")
	}
	return &callback{url: req.CallbackURL, format: format, progress: req.CallbackProgress}, nil
}

// sendLocked schedules a callback reporting status, after the job's earlier
// ones. It does nothing once the service is closed.
func (s *Service) sendLocked(j *job, status string) {
	if s.closed {
		return
	}
	cb := j.cb
	cb.sent++
	msgID := fmt.Sprintf("msg_%s_%d", j.id, cb.sent)
	body, ctype, err := callbackBody(j, status, time.Now(), cb.format)
	prev, done := cb.last, make(chan struct{})
	cb.last = done
	d := Delivery{TaskID: j.id, JobStatus: status, MessageID: msgID, URL: cb.url}
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		if err != nil {
			d.Attempt, d.Time, d.Err, d.Last = 1, time.Now(), "encoding the callback: "+err.Error(), true
			s.record(d)
			return
		}
		s.deliver(d, body, ctype)
	}()
}

// deliver makes the attempts of one delivery.
func (s *Service) deliver(d Delivery, body []byte, ctype string) {
	retries := s.CallbackRetries
	switch {
	case retries == 0:
		retries = 5
	case retries < 0:
		retries = 0
	}
	wait := s.CallbackBackoff
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	client := s.CallbackClient
	if client == nil {
		client = defaultClient
	}
	for d.Attempt = 1; ; d.Attempt++ {
		a := s.attempt(client, d, body, ctype)
		a.Last = a.Attempt > retries || !retryable(a) || s.isClosing()
		s.record(a)
		if a.Last {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.closing:
			t.Stop()
			return
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// isClosing reports whether Close has been called.
func (s *Service) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// attempt POSTs the callback once and returns d completed with the outcome.
func (s *Service) attempt(client *http.Client, d Delivery, body []byte, ctype string) Delivery {
	d.Time = time.Now()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "httpnode-jobservice")
	webhook.SignHeaders(req.Header, s.CallbackSecrets, d.MessageID, d.Time, body)
	d.Headers, d.Body = req.Header.Clone(), body
	resp, err := client.Do(req)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	return d
}

// retryable reports whether an attempt is worth repeating: no answer, or an
// answer other than 2xx (done) and 4xx (the receiver refused it).
func retryable(d Delivery) bool {
	return d.Status == 0 || (d.Status/100 != 2 && d.Status/100 != 4)
}

func (s *Service) record(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = append(s.deliveries, d)
	s.changedLocked()
}

// Callbacks returns every callback attempt so far, in the order they ended.
func (s *Service) Callbacks() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	for i, d := range s.deliveries {
		d.Headers, d.Body = d.Headers.Clone(), bytes.Clone(d.Body)
		out[i] = d
	}
	return out
}

// WaitCallbacks blocks until at least n callback attempts have ended, then
// returns them all as Callbacks does; it fails when ctx ends first.
func (s *Service) WaitCallbacks(ctx context.Context, n int) ([]Delivery, error) {
	err := s.waitFor(ctx, func() bool { return len(s.deliveries) >= n })
	if err != nil {
		return nil, fmt.Errorf("waiting for %d callback attempts: %w", n, err)
	}
	return s.Callbacks(), nil
}

// waitFor blocks until ready, called under s.mu, is true or ctx ends.
func (s *Service) waitFor(ctx context.Context, ready func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := ready(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops the timers of running jobs, cancels the waits before
// callback retries, and waits until every callback already scheduled has
// made its current attempt (each bounded by the client's timeout). After it
// no callback is scheduled and none is retried. The handlers, polling and
// Finish keep working: a job still ends by time for its pollers, but sends
// nothing. Close may be called more than once.
func (s *Service) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
		for _, j := range s.jobs {
			if j.cb != nil && j.cb.timer != nil {
				j.cb.timer.Stop()
			}
		}
	}
	s.mu.Unlock()
	s.inflight.Wait()
}
