// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"strings"
	"sync"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/internal/egress"
)

// Loopback is the client configuration of tests: their services listen on
// 127.0.0.1, which the default egress policy denies.
var Loopback = activities.ClientConfig{Policy: egress.Loopback()}

// SyncBuffer is an io.Writer safe for concurrent use, for capturing the logs
// of a worker's goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
