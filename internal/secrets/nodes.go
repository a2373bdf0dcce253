package secrets

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/httpnode/httpnode/httpnode"
)

// Nodes are the secrets the worker offers to nodes: a Store of values with
// their bindings, minus the worker's own keys.
type Nodes struct {
	Store Store
	// Keys names the worker's own keys and what each is for ("payload
	// encryption key"): a node that refers to one is refused, whatever the
	// node secrets hold.
	Keys WorkerKeys
	// Default binds the secrets that have no binding of their own; nil
	// refuses them. worker --dev sets Loopback for its demo.
	Default Binding

	parsed sync.Map // binding text -> parsedBinding
}

type parsedBinding struct {
	b   Binding
	err error
}

// Reason says why a node may not use a secret.
type Reason int

// Reasons, in the order they are checked.
const (
	BadName    Reason = iota + 1 // not a secret name (perhaps a value)
	WorkerKey                    // one of the worker's own keys
	NotSet                       // no value on the worker
	TooShort                     // shorter than httpnode.MinSecretLength
	Unbound                      // no binding, and no default
	BadBinding                   // the binding does not parse
	NotBound                     // the destination is outside the binding
)

// Error is a secret a node may not use. Its message names the secret
// (never its value) and says what to do.
type Error struct {
	Name   string // "" when the name itself may be a value
	Reason Reason
	msg    string
}

func (e *Error) Error() string { return e.msg }

// Resolve returns the value of the secret name for a request to dest and
// the binding that allowed it. With dest nil every rule but the
// destination is checked (the destination is not known yet). Errors are
// *Error values.
func (n *Nodes) Resolve(name string, dest *url.URL) (string, Binding, error) {
	if err := httpnode.CheckSecretName(name); err != nil {
		return "", nil, &Error{Reason: BadName, msg: err.Error()}
	}
	fail := func(r Reason, format string, args ...any) (string, Binding, error) {
		return "", nil, &Error{Name: name, Reason: r, msg: "secret " + name + " " + fmt.Sprintf(format, args...)}
	}
	if what, ok := n.Keys[name]; ok {
		return fail(WorkerKey, "is the worker's %s: nodes cannot use the worker's own keys (give the node a secret of its own)", what)
	}
	v, ok := n.Store.Value(name)
	if !ok {
		return fail(NotSet, "is not set (set %s)", n.Store.Where(name))
	}
	if len(v) < httpnode.MinSecretLength {
		return fail(TooShort, "is %d characters long; secrets shorter than %d cannot be masked in results without hiding ordinary text too (use a longer one, or write a value that is not secret, such as a user name, as it is)", len(v), httpnode.MinSecretLength)
	}
	b, err := n.binding(name, dest)
	if err != nil {
		return "", nil, err
	}
	if dest != nil && !b.Allows(dest) {
		return fail(NotBound, "is not bound to %s, so it is not sent there (if it may go there, add %s to %s)", origin(dest), example(dest), n.Store.HostsVar(name))
	}
	return v, b, nil
}

// example is the pattern a hint shows for binding to dest.
func example(dest *url.URL) string {
	if dest == nil {
		return "api.example.com"
	}
	return PatternFor(dest).String()
}

// binding is the binding of the secret name: its own, else the default;
// the hint of an unbound secret shows how to bind it to dest.
func (n *Nodes) binding(name string, dest *url.URL) (Binding, error) {
	text, ok := n.Store.hosts(name)
	if !ok {
		if n.Default != nil {
			return n.Default, nil
		}
		return nil, &Error{Name: name, Reason: Unbound, msg: "secret " + name + " is not bound to any host, so no node may send it: name the hosts it is for, e.g. set " + n.Store.whereHosts(name, example(dest))}
	}
	if p, ok := n.parsed.Load(text); ok {
		pb := p.(parsedBinding)
		return pb.b, pb.err
	}
	b, err := ParseBinding(text)
	if err != nil {
		err = &Error{Name: name, Reason: BadBinding, msg: "secret " + name + ": its binding " + n.Store.HostsVar(name) + " " + err.Error()}
	}
	n.parsed.Store(text, parsedBinding{b, err})
	return b, err
}

// origin is u's scheme, host and port, for messages.
func origin(u *url.URL) string {
	return u.Scheme + "://" + u.Hostname() + ":" + fmt.Sprint(urlPort(u))
}

// WorkerKeys describes the worker's keys for Nodes.Keys: each name given
// (empty ones skipped) with what it is for.
type WorkerKeys map[string]string

// Add records the keys names as what.
func (k WorkerKeys) Add(what string, names ...string) {
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			k[n] = what
		}
	}
}

// Names are the keys' names, sorted.
func (k WorkerKeys) Names() []string { return slices.Sorted(maps.Keys(k)) }

// Unbound lists the node secrets present (in environ and the store's
// directory) that have no binding of their own, sorted: nodes cannot use
// them unless Default binds them.
func (n *Nodes) Unbound(environ []string) []string {
	var out []string
	for _, name := range n.Store.names(environ) {
		if _, isKey := n.Keys[name]; isKey {
			continue
		}
		if _, ok := n.Store.hosts(name); !ok {
			out = append(out, name)
		}
	}
	return out
}

// Default names of the worker's keys (worker --codec-token-secret and
// --callback-key-secret).
const (
	DefaultCodecToken  = "CODEC_TOKEN"
	DefaultCallbackKey = "CALLBACK_KEY"
)

// What the worker's keys are for, as WorkerKeys records them.
const (
	KeyEncryption      = "payload encryption key"
	KeyCodecToken      = "codec server token"
	KeyCallback        = "callback URL key"
	KeyCallbackSigning = "callback signing secret"
)

// DefaultWorkerKeys are the worker's keys under their default names, for
// tools that check nodes as a worker with default flags would.
func DefaultWorkerKeys() WorkerKeys {
	return WorkerKeys{DefaultCodecToken: KeyCodecToken, DefaultCallbackKey: KeyCallback}
}
