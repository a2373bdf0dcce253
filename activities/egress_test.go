package activities

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
	"github.com/httpnode/httpnode/internal/outbound"
)

// sentinel is an HTTP server on addr that counts the connections it accepts.
type sentinel struct {
	*httptest.Server
	conns atomic.Int32
}

func newSentinel(t *testing.T, addr string, h http.Handler) *sentinel {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := &sentinel{Server: httptest.NewUnstartedServer(h)}
	s.Listener.Close()
	s.Listener = l
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status": "SUCCESS"}`)) }

func policyActivities(p *egress.Policy) *Activities {
	return New(testSecrets(), outbound.Config{Policy: p})
}

func TestSendRequest_DefaultPolicyDeniesInternalDestinations(t *testing.T) {
	s := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(ok))
	port := s.Listener.Addr().(*net.TCPAddr).Port
	for _, u := range []string{
		s.URL,                                    // loopback literal
		"http://localhost:" + strconv.Itoa(port), // a name that resolves to loopback
		"http://2130706433:" + strconv.Itoa(port),      // 127.0.0.1 in decimal
		"http://127.1:" + strconv.Itoa(port),           // short form
		"http://[::ffff:7f00:1]:" + strconv.Itoa(port), // IPv4-mapped
		"http://169.254.169.254/latest/meta-data/",
	} {
		t.Run(u, func(t *testing.T) {
			for _, step := range []func(*Activities, httpnode.Request) error{
				func(a *Activities, r httpnode.Request) error {
					_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
					return err
				},
				func(a *Activities, r httpnode.Request) error {
					_, err := a.CheckStatus(context.Background(), CheckStatusInput{Request: ready(r), StatusField: "status", Pending: []string{"P"}, Success: []string{"SUCCESS"}})
					return err
				},
			} {
				err := step(policyActivities(nil), request("GET", u))
				app := requireAppError(t, err, httpnode.ErrDestinationDenied, false)
				require.Contains(t, app.Message(), "destination denied")
			}
		})
	}
	require.Zero(t, s.conns.Load(), "no connection reached the sentinel")

	out, err := policyActivities(egress.Loopback()).SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", s.URL))})
	require.NoError(t, err, "allowed with the loopback ranges")
	require.Equal(t, 200, out.Response.StatusCode)
	require.EqualValues(t, 1, s.conns.Load())
}

func TestSendRequest_DeniedMessageNamesTheRuleAndTheFlag(t *testing.T) {
	_, err := policyActivities(nil).SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", "http://169.254.169.254/"))})
	app := requireAppError(t, err, httpnode.ErrDestinationDenied, false)
	require.Contains(t, app.Message(), `rule "metadata"`)
	require.Contains(t, app.Message(), "--egress-allow 169.254.169.254/32")
}

// resolver answers every name with one address.
type resolver netip.Addr

func (r resolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.Addr(r)}, nil
}

// A public-looking name that resolves to an internal address is denied on
// the address dialed (DNS rebinding itself is tested in internal/egress).
func TestSendRequest_NameResolvingToInternalIsDeniedAtDialTime(t *testing.T) {
	s := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(ok))
	port := s.Listener.Addr().(*net.TCPAddr).Port
	a := policyActivities(&egress.Policy{Resolver: resolver(netip.MustParseAddr("127.0.0.1"))})
	_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", "http://api.example.com:"+strconv.Itoa(port)+"/"))})
	app := requireAppError(t, err, httpnode.ErrDestinationDenied, false)
	require.Contains(t, app.Message(), "loopback")
	require.Zero(t, s.conns.Load())
}

func TestSendRequest_ProxyEnvironmentDoesNotBypassThePolicy(t *testing.T) {
	proxy := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(ok))
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	a := New(testSecrets(), outbound.Config{}) // reads the proxy variables
	for _, u := range []string{"http://10.1.2.3/jobs", "http://169.254.169.254/", "http://0x7f000001/", "http://unresolvable.invalid/jobs"} {
		_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", u))})
		requireAppError(t, err, httpnode.ErrDestinationDenied, false)
	}
	require.Zero(t, proxy.conns.Load(), "the proxy was never asked to reach a denied destination")

	// a host name the operator allowed goes through the operator's proxy
	a = New(testSecrets(), outbound.Config{Policy: &egress.Policy{AllowHosts: []string{"jobs.internal"}}})
	_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", "http://jobs.internal/jobs"))})
	require.NoError(t, err)
	require.EqualValues(t, 1, proxy.conns.Load())
}

func TestSendRequest_NodeProxyMustPassThePolicy(t *testing.T) {
	proxy := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(ok))
	r := request("GET", "http://93.184.215.14/")
	r.Proxy = proxy.URL
	_, err := policyActivities(nil).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	requireAppError(t, err, httpnode.ErrDestinationDenied, false)
	require.Zero(t, proxy.conns.Load(), "a node cannot reach an internal proxy the operator did not allow")
}

func TestSendRequest_FollowedRedirectToADeniedAddressIsDenied(t *testing.T) {
	target := newSentinel(t, "127.0.0.2:0", http.HandlerFunc(ok))
	origin := newSentinel(t, "127.0.0.1:0", http.RedirectHandler(target.URL+"/inside", http.StatusFound))
	p := &egress.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	r := request("GET", origin.URL)
	r.FollowRedirects = true
	_, err := policyActivities(p).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrDestinationDenied, false)
	require.Contains(t, app.Message(), "127.0.0.2")
	require.Zero(t, target.conns.Load())
}

func TestSendRequest_RedirectsDropCredentialsAcrossHosts(t *testing.T) {
	var got http.Header
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/final") {
			got = r.Header.Clone()
			ok(w, r)
			return
		}
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	a := newSentinel(t, "127.0.0.1:0", record)
	b := newSentinel(t, "127.0.0.2:0", record)
	p := &egress.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	for _, tc := range []struct {
		name, to string
		kept     bool
	}{
		{"same host keeps them", a.URL + "/final", true},
		{"another host drops them", b.URL + "/final", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			r := request("GET", a.URL+"/start?to="+tc.to)
			r.FollowRedirects = true
			r.Auth = &httpnode.Auth{Type: "apiKey", Key: "${secret.KEY}", Name: "X-Service-Key"}
			r.Headers = map[string]string{"Authorization": "Bearer ${secret.TOKEN}", "Cookie": "session=${secret.TOKEN}", "X-Trace": "keep"}
			out, err := policyActivities(p).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
			require.NoError(t, err)
			require.Equal(t, tc.to, out.Sent.FinalURL)
			require.Equal(t, "keep", got.Get("X-Trace"))
			for _, h := range []string{"X-Service-Key", "Authorization", "Cookie"} {
				require.Equal(t, tc.kept, got.Get(h) != "", h)
			}
		})
	}
}

func TestSendRequest_RedirectLoopAndTooManyRedirectsAreFinal(t *testing.T) {
	var hops atomic.Int32
	srv := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hops.Add(1)
		switch r.URL.Path {
		case "/loop-a":
			http.Redirect(w, r, "/loop-b", http.StatusFound)
		case "/loop-b":
			http.Redirect(w, r, "/loop-a", http.StatusFound)
		default:
			http.Redirect(w, r, "/hop/"+strconv.Itoa(int(n)), http.StatusFound)
		}
	}))
	r := request("GET", srv.URL+"/loop-a")
	r.FollowRedirects = true
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrRedirectLoop, false)
	require.Contains(t, app.Message(), "redirect loop")

	hops.Store(0)
	r = request("GET", srv.URL+"/hop/0")
	r.FollowRedirects, r.MaxRedirects = true, 3
	_, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app = requireAppError(t, err, httpnode.ErrRedirectLoop, false)
	require.Contains(t, app.Message(), "stopped after 3 redirects")
	require.EqualValues(t, 4, hops.Load(), "the first request and 3 redirects")
}

func TestSendRequest_Limits(t *testing.T) {
	big := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 100 {
			w.Header().Set("X-Big-"+strconv.Itoa(i), strings.Repeat("x", 1000))
		}
		ok(w, r)
	}))
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", big.URL))})
	requireAppError(t, err, httpnode.ErrLimitExceeded, false)

	// a secret or parameter can make a request too large only at send time
	testEnv["HTTPNODE_SECRET_HUGE"] = strings.Repeat("h", httpnode.MaxHeaderBytes)
	testEnv["HTTPNODE_SECRET_HUGE_HOSTS"] = loopback
	t.Cleanup(func() { delete(testEnv, "HTTPNODE_SECRET_HUGE"); delete(testEnv, "HTTPNODE_SECRET_HUGE_HOSTS") })
	r := request("GET", big.URL)
	r.Headers = map[string]string{"X-Api-Key": "${secret.HUGE}"}
	conns := big.conns.Load()
	_, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrLimitExceeded, false)
	require.Contains(t, app.Message(), "request.headers: size of names and values")
	require.NotContains(t, app.Message(), "hhhh", "the value stays out of the message")
	require.Equal(t, conns, big.conns.Load(), "nothing was sent")

	slow := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	a := New(testSecrets(), outbound.Config{Policy: egress.Loopback(), ResponseHeaderTimeout: 50 * time.Millisecond})
	_, err = a.SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", slow.URL))})
	app = requireAppError(t, err, httpnode.ErrTimeout, true)
	require.Contains(t, app.Message(), "--response-header-timeout")
}
