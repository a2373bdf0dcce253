// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"strings"
	"sync"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
	"github.com/httpnode/httpnode/internal/outbound"
	"github.com/httpnode/httpnode/internal/secrets"
)

// Loopback is the client configuration of tests: their services listen on
// 127.0.0.1, which the default egress policy denies.
var Loopback = outbound.Config{Policy: egress.Loopback()}

// LoopbackBinding binds a test's secrets to its services on 127.0.0.1.
const LoopbackBinding = "http://127.0.0.1:*,https://127.0.0.1:*"

// Secrets are node secrets with these values by name, read as the worker
// reads HTTPNODE_SECRET_<NAME>. Each is bound to LoopbackBinding unless the
// map gives NAME_HOSTS itself (an empty NAME_HOSTS leaves it unbound).
func Secrets(values map[string]string) *secrets.Nodes {
	env := map[string]string{}
	for k, v := range values {
		env[secrets.NodePrefix+k] = v
		if _, ok := values[k+httpnode.SecretHostsSuffix]; !ok && !strings.HasSuffix(k, httpnode.SecretHostsSuffix) {
			env[secrets.NodePrefix+k+httpnode.SecretHostsSuffix] = LoopbackBinding
		}
	}
	return &secrets.Nodes{Store: secrets.Store{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok && v != ""
	}}}
}

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
