package activities

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/httpnode/httpnode/httpnode"
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

// SecretStore reads secrets from environment variables (Prefix + NAME) and,
// when Dir is set, from the file Dir/NAME (as Kubernetes mounts a Secret);
// the environment wins. A file's trailing newline is dropped.
type SecretStore struct {
	Prefix string
	Dir    string
	// LookupEnv defaults to os.LookupEnv; tests replace it.
	LookupEnv func(string) (string, bool)
}

// Secret implements SecretSource.
func (s SecretStore) Secret(name string) (string, bool) {
	lookup := s.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(s.prefix() + name); ok && v != "" {
		return v, true
	}
	if s.Dir == "" || !httpnode.ValidSecretName(name) {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, name))
	if err != nil {
		return "", false
	}
	v := strings.TrimRight(string(b), "\r\n")
	return v, v != ""
}

// Where implements SecretSource.
func (s SecretStore) Where(name string) string {
	if s.Dir != "" {
		return "environment variable " + s.prefix() + name + " or file " + filepath.Join(s.Dir, name) + " on the worker"
	}
	return "environment variable " + s.prefix() + name + " on the worker"
}

func (s SecretStore) prefix() string {
	if s.Prefix == "" {
		return DefaultSecretPrefix
	}
	return s.Prefix
}

// masker replaces secret values with *** in anything that leaves the worker.
type masker struct{ values []string }

const mask = "***"

// formsPerValue is how many forms of a secret value are masked.
const formsPerValue = 5

// add records a secret value and the forms it travels in: URL-escaped and
// base64 (a remote may echo either back).
func (m *masker) add(v string) {
	if v == "" {
		return
	}
	if m.values == nil {
		m.values = make([]string, 0, 2*formsPerValue)
	}
	m.values = append(m.values, maskForms(v)...)
	// longest first, so a secret that contains another is masked whole
	slices.SortFunc(m.values, func(a, b string) int { return len(b) - len(a) })
}

// forms memoizes the encoded forms of each secret value: the values already
// live in this process (environment, files), and every request using a
// secret needs its forms.
var forms sync.Map // string -> []string

func maskForms(v string) []string {
	if f, ok := forms.Load(v); ok {
		return f.([]string)
	}
	b := []byte(v)
	f := []string{v, url.QueryEscape(v), base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b)}
	f = slices.Compact(slices.Sorted(slices.Values(f))) // a form may equal another
	forms.Store(v, f)
	return f
}

// String masks every known secret value in s.
func (m *masker) String(s string) string {
	if len(m.values) == 0 || s == "" {
		return s
	}
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, mask)
	}
	return s
}
