package activities

import (
	"os"
	"sort"
	"strings"
)

// DefaultSecretPrefix is the environment prefix of secrets: ${secret.API_TOKEN}
// is read from HTTPNODE_SECRET_API_TOKEN.
const DefaultSecretPrefix = "HTTPNODE_SECRET_"

// SecretSource resolves ${secret.NAME} references inside the worker.
type SecretSource interface {
	// Secret returns the named secret's value and whether it is set.
	Secret(name string) (string, bool)
	// Where tells the user where the named secret is read from.
	Where(name string) string
}

// EnvSecrets reads secrets from environment variables: Prefix + NAME.
type EnvSecrets struct {
	Prefix string
	// LookupEnv defaults to os.LookupEnv; tests replace it.
	LookupEnv func(string) (string, bool)
}

// Secret implements SecretSource.
func (e EnvSecrets) Secret(name string) (string, bool) {
	lookup := e.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(e.prefix() + name)
	return v, ok && v != ""
}

// Where implements SecretSource.
func (e EnvSecrets) Where(name string) string {
	return "environment variable " + e.prefix() + name + " on the worker"
}

func (e EnvSecrets) prefix() string {
	if e.Prefix == "" {
		return DefaultSecretPrefix
	}
	return e.Prefix
}

// masker replaces secret values with *** in anything that leaves the worker.
type masker struct{ values []string }

const mask = "***"

func (m *masker) add(v string) {
	if v != "" {
		m.values = append(m.values, v)
	}
}

// String masks every known secret value in s, longest first so a secret that
// contains another is masked whole.
func (m *masker) String(s string) string {
	if len(m.values) == 0 || s == "" {
		return s
	}
	sort.Slice(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, mask)
	}
	return s
}
