// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"strings"
	"sync"
)

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
