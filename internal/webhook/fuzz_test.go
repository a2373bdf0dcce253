package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: whatever the headers, Verify never panics, accepts only a
// signature made with the secret, and returns an id only on success.
func FuzzVerify(f *testing.F) {
	secret, _ := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	now := time.Unix(1614265330, 0)
	good := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", now, []byte(`{"test": 2432232314}`))
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", good, []byte(`{"test": 2432232314}`))
	f.Add("id", "99999999999999999999", "v1,abc v2,def", []byte("x"))
	f.Add("", "", "", []byte(""))
	f.Add("id", "1614265330", "v1,"+good[3:]+" v1", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		got, err := Verify(h, body, []Secret{secret}, now, 0)
		if err != nil {
			if got != "" {
				t.Fatalf("an error with id %q", got)
			}
			return
		}
		sec, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil {
			t.Fatalf("accepted a timestamp %q that does not parse", ts)
		}
		if !strings.Contains(sig, Sign(secret, id, time.Unix(sec, 0), body)) {
			t.Fatalf("accepted %q, which holds no signature of the body by the secret", sig)
		}
	})
}
