// Package secrets holds the worker's named values and the rules between
// them and nodes. There are two kinds, read from places that cannot overlap:
//
//   - node secrets, which ${secret.NAME} resolves: HTTPNODE_SECRET_NAME or
//     the file NAME in --secrets-dir. Each is bound to the destinations it
//     may be sent to (HTTPNODE_SECRET_NAME_HOSTS or the file NAME.hosts);
//     one without a binding is refused.
//   - worker keys (payload encryption keys, the codec token, the callback
//     key and callback signing secrets): HTTPNODE_KEY_NAME or the file NAME
//     in --keys-dir. No node can reach them: ${secret.NAME} does not read
//     there, and a node that names one of the worker's keys is refused.
package secrets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/httpnode/httpnode/httpnode"
)

// Environment prefixes of the two kinds of value.
const (
	NodePrefix = "HTTPNODE_SECRET_" // ${secret.API_TOKEN} is HTTPNODE_SECRET_API_TOKEN
	KeyPrefix  = "HTTPNODE_KEY_"    // the worker key CODEC_KEY_1 is HTTPNODE_KEY_CODEC_KEY_1
)

// HostsFileSuffix ends the file in a secrets directory that binds a secret
// to its hosts: API_TOKEN.hosts next to API_TOKEN.
const HostsFileSuffix = ".hosts"

// Store reads named values from environment variables (Prefix + NAME) and,
// when Dir is set, from the file Dir/NAME (as Kubernetes mounts a Secret);
// the environment wins. A file's trailing newline is dropped.
type Store struct {
	Prefix string
	Dir    string
	// LookupEnv defaults to os.LookupEnv; tests replace it.
	LookupEnv func(string) (string, bool)
}

// Value returns the named value and whether it is set. Names that are not
// valid secret names are never looked up (they could name other files).
func (s Store) Value(name string) (string, bool) {
	if !httpnode.ValidSecretName(name) {
		return "", false
	}
	return s.read(name, name)
}

// hosts returns the text of the named value's binding, and whether one is
// set: the variable NAME_HOSTS or the file NAME.hosts.
func (s Store) hosts(name string) (string, bool) {
	if !httpnode.ValidSecretName(name) {
		return "", false
	}
	return s.read(name+httpnode.SecretHostsSuffix, name+HostsFileSuffix)
}

func (s Store) read(envName, fileName string) (string, bool) {
	lookup := s.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(s.prefix() + envName); ok && v != "" {
		return v, true
	}
	if s.Dir == "" {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, fileName))
	if err != nil {
		return "", false
	}
	v := strings.TrimRight(string(b), "\r\n")
	return v, v != ""
}

// Where tells the operator where the named value is read from.
func (s Store) Where(name string) string {
	if s.Dir != "" {
		return "environment variable " + s.prefix() + name + " or file " + filepath.Join(s.Dir, name) + " on the worker"
	}
	return "environment variable " + s.prefix() + name + " on the worker"
}

// whereHosts tells the operator where the named value's binding is read.
func (s Store) whereHosts(name, example string) string {
	env := s.prefix() + name + httpnode.SecretHostsSuffix + "=" + example
	if s.Dir != "" {
		return env + " on the worker, or write " + example + " into the file " + filepath.Join(s.Dir, name+HostsFileSuffix)
	}
	return env + " on the worker (or, with --secrets-dir, write it into the file " + name + HostsFileSuffix + " there)"
}

// HostsVar is the environment variable of the named value's binding.
func (s Store) HostsVar(name string) string { return s.prefix() + name + httpnode.SecretHostsSuffix }

// names lists the values present: variables in environ with the store's
// prefix and files in its directory, bindings left out, sorted and unique.
func (s Store) names(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, s.prefix()); ok && httpnode.CheckSecretName(name) == nil {
			out = append(out, name)
		}
	}
	if s.Dir != "" {
		entries, _ := os.ReadDir(s.Dir)
		for _, e := range entries {
			if name := e.Name(); !strings.HasSuffix(name, HostsFileSuffix) && httpnode.CheckSecretName(name) == nil {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s Store) prefix() string {
	if s.Prefix == "" {
		return NodePrefix
	}
	return s.Prefix
}

// Keys returns the store of worker keys: HTTPNODE_KEY_NAME, then the file
// NAME in dir (when set).
func Keys(dir string) Store { return Store{Prefix: KeyPrefix, Dir: dir} }

// Names splits a comma-separated list of names given to flag, checking
// each: an entry that may be a value is refused without being repeated
// (see httpnode.CheckSecretName).
func Names(flag, list string) ([]string, error) {
	var names []string
	for i, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if err := httpnode.CheckSecretName(n); err != nil {
			return nil, fmt.Errorf("%s: entry %d: %v", flag, i+1, err)
		}
		names = append(names, n)
	}
	return names, nil
}
