package jobservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/httpnode/httpnode/internal/webhook"
)

// Notification is a request POST /notifications accepted (answered 204).
// Requests answered 503 (FailNotifications) or 401 (bad signature) are not
// recorded; NotificationAttempts counts them.
type Notification struct {
	// Headers and Body are the request as received.
	Headers http.Header
	Body    []byte
	// ContentType is the Content-Type header.
	ContentType string
	// Time is when it was received.
	Time time.Time
	// Verified reports that its Standard Webhooks signature was checked
	// against Service.NotifySecrets; false when none are set.
	Verified bool
	// WebhookID is the webhook-id header ("" when absent).
	WebhookID string
}

// maxNotification bounds a notification body.
const maxNotification = 1 << 20

// NotificationAttempts counts POST /notifications requests received,
// failed, rejected and accepted ones alike.
func (s *Service) NotificationAttempts() int64 { return s.notifyTries.Load() }

// Notifications returns the accepted notifications so far, oldest first.
func (s *Service) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notifications))
	for i, n := range s.notifications {
		n.Headers, n.Body = n.Headers.Clone(), bytes.Clone(n.Body)
		out[i] = n
	}
	return out
}

// WaitNotifications blocks until at least n notifications have been
// accepted, then returns them all as Notifications does; it fails when ctx
// ends first.
func (s *Service) WaitNotifications(ctx context.Context, n int) ([]Notification, error) {
	err := s.waitFor(ctx, func() bool { return len(s.notifications) >= n })
	if err != nil {
		return nil, fmt.Errorf("waiting for %d notifications: %w", n, err)
	}
	return s.Notifications(), nil
}

// notify serves POST /notifications. It does not want the bearer Token: a
// sink authenticates its senders by signature (NotifySecrets).
func (s *Service) notify(w http.ResponseWriter, r *http.Request) {
	if n := s.notifyTries.Add(1); n <= int64(s.FailNotifications) {
		reply(w, http.StatusServiceUnavailable, map[string]string{
			"error": fmt.Sprintf("notification sink unavailable for the first %d requests (FailNotifications): retry", s.FailNotifications)})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNotification))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body: larger than 1 MiB (send a smaller notification)"})
			return
		}
		reply(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return
	}
	n := Notification{Headers: r.Header.Clone(), Body: body, ContentType: r.Header.Get("Content-Type"),
		Time: time.Now(), WebhookID: r.Header.Get(webhook.HeaderID)}
	if len(s.NotifySecrets) > 0 {
		if _, err := webhook.Verify(r.Header, body, s.NotifySecrets, n.Time, 0); err != nil {
			reply(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
			return
		}
		n.Verified = true
	}
	s.mu.Lock()
	s.notifications = append(s.notifications, n)
	s.changedLocked()
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
