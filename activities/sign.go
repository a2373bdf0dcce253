package activities

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/webhook"
)

// sign adds the Standard Webhooks headers to a request: webhook-id (msgID,
// stable across retries of the same message; random when empty), the
// timestamp of this try, and one v1 signature of the body per secret. Each
// secret must be bound to the request's destination like any other (a
// signature made for another host could be replayed there); a secret that
// cannot be used or is not a signing secret is a problem of f.
func sign(f *filler, s *httpnode.Sign, header http.Header, msgID string, body []byte) {
	var keys []webhook.Secret
	for i, ref := range s.Secrets {
		field := fmt.Sprintf("sign.secrets[%d]", i)
		v, _, ok := f.secretRef(field, ref)
		if !ok {
			continue
		}
		key, err := webhook.ParseSecret(v)
		if err != nil {
			f.problems = append(f.problems, problem{httpnode.ErrInvalidSecret, f.path(field) + ": secret " + strings.TrimSuffix(strings.TrimPrefix(ref, "${secret."), "}") + " is not a signing secret: " + err.Error()})
			continue
		}
		keys = append(keys, key)
	}
	if msgID == "" {
		msgID = "msg_" + rand.Text()
	}
	webhook.SignHeaders(header, keys, msgID, time.Now(), body)
}
