// Package outbound holds the settings of the worker's outbound HTTP calls,
// shared by the worker and `starter test` so both obey the same rules: the
// egress policy (which destinations a node may reach) and the wait for
// response headers.
package outbound

import (
	"flag"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/httpnode/httpnode/internal/egress"
)

// Config is what every outbound call obeys, whichever node makes it.
type Config struct {
	// Policy decides which destinations may be reached. nil is the zero
	// egress.Policy: internal and special addresses are denied.
	Policy *egress.Policy
	// ResponseHeaderTimeout bounds the wait for a response's headers,
	// whatever a node's timeout (default 2m): a slow remote cannot hold a
	// worker slot longer.
	ResponseHeaderTimeout time.Duration
	// ProxyEnv is the proxy environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY);
	// nil reads the process environment once.
	ProxyEnv *httpproxy.Config
	// TLSDir is the directory whose files nodes may name as tls.caFile,
	// certFile and keyFile (the operator's --tls-dir); "" offers none.
	TLSDir string
}

// DefaultResponseHeaderTimeout is the ResponseHeaderTimeout when unset.
const DefaultResponseHeaderTimeout = 2 * time.Minute

// Options are the outbound flags.
type Options struct {
	Allow, Ports, Schemes string
	ResponseHeaderTimeout time.Duration
	TLSDir                string
}

// Register adds the flags to fs; their variables apply through flagenv.Apply.
func (o *Options) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.Allow, "egress-allow", "", "internal destinations nodes may reach, comma-separated CIDRs, IPs and host names (*.corp.example); everything internal is denied otherwise (HTTPNODE_EGRESS_ALLOW)")
	fs.StringVar(&o.Ports, "egress-ports", "", "destination ports nodes may reach, comma-separated; empty allows any (HTTPNODE_EGRESS_PORTS)")
	fs.StringVar(&o.Schemes, "egress-schemes", "", "URL schemes nodes may use, comma-separated; empty allows http and https (HTTPNODE_EGRESS_SCHEMES)")
	fs.StringVar(&o.TLSDir, "tls-dir", "", "directory of TLS files (CA bundles, client certificates) nodes may name in tls.caFile, certFile and keyFile, relative to it; no other path on the worker can be named (HTTPNODE_TLS_DIR)")
	fs.DurationVar(&o.ResponseHeaderTimeout, "response-header-timeout", DefaultResponseHeaderTimeout, "longest wait for a response's headers, whatever a node's timeout (HTTPNODE_RESPONSE_HEADER_TIMEOUT)")
}

// Config returns the client configuration; loopback also allows the
// loopback ranges (worker --dev, whose demo runs on 127.0.0.1).
func (o Options) Config(loopback bool) (Config, error) {
	p, err := egress.Parse([]string{o.Allow}, []string{o.Ports}, []string{o.Schemes})
	if err != nil {
		return Config{}, err
	}
	if loopback {
		p = p.AllowLoopback()
	}
	return Config{Policy: p, ResponseHeaderTimeout: o.ResponseHeaderTimeout, TLSDir: o.TLSDir}, nil
}
