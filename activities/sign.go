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
// timestamp of this try, and one v1 signature of the body per secret. A
// secret that is not set or not a signing secret is added to problems.
func (a *Activities) sign(step string, s *httpnode.Sign, header http.Header, msgID string, body []byte, m *masker, problems *[]string) {
	var secrets []webhook.Secret
	for i, ref := range s.Secrets {
		field := fmt.Sprintf("%s.sign.secrets[%d]", step, i)
		name := strings.TrimSuffix(strings.TrimPrefix(ref, "${secret."), "}")
		v, ok := a.Secrets.Secret(name)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: secret %s is not set (set %s)", field, name, a.Secrets.Where(name)))
			continue
		}
		m.add(v)
		sec, err := webhook.ParseSecret(v)
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: secret %s: %v", field, name, err))
			continue
		}
		secrets = append(secrets, sec)
	}
	if msgID == "" {
		msgID = "msg_" + rand.Text()
	}
	webhook.SignHeaders(header, secrets, msgID, time.Now(), body)
}
