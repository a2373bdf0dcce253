// Package callbackurl mints and checks the URLs a node in push mode hands to
// the remote system: <base>/callbacks/<workflow id>/<attempt key>/<token>.
// The token is an HMAC of the workflow id and the attempt's key under the
// worker's callback key, so it is unguessable, bound to one node attempt,
// checkable by any worker sharing the key, and never stored in history.
package callbackurl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	"github.com/httpnode/httpnode/httpnode"
)

// Pattern is the receiver's route, for http.ServeMux.
const Pattern = "POST /callbacks/{workflowID}/{attemptKey}/{token}"

// Minter makes callback URLs under a public base URL with a key.
type Minter struct {
	// Base is the receiver's public URL, as the remote reaches it
	// (https://hooks.example.com or http://127.0.0.1:8235).
	Base string
	Key  []byte
}

// URL returns the callback URL of one node attempt and its token (to mask
// wherever the URL is shown).
func (m Minter) URL(workflowID, attemptKey string) (u, token string) {
	token = Token(m.Key, workflowID, attemptKey)
	return strings.TrimRight(m.Base, "/") + "/callbacks/" + url.PathEscape(workflowID) + "/" + url.PathEscape(attemptKey) + "/" + token, token
}

// Token is the token of a node attempt under key.
func Token(key []byte, workflowID, attemptKey string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("httpnode-callback\n" + workflowID + "\n" + attemptKey))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether token is the token of the node attempt, in
// constant time.
func Verify(key []byte, workflowID, attemptKey, token string) bool {
	return hmac.Equal([]byte(Token(key, workflowID, attemptKey)), []byte(token))
}

// CheckBase returns an error unless base is an absolute http(s) URL without
// query or fragment, as --callback-base-url needs.
func CheckBase(base string) error {
	u, err := url.Parse(base)
	if err != nil || !httpnode.IsAbsoluteHTTP(u) || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("--callback-base-url: " + base + " is not an absolute http(s) URL without query (use e.g. https://hooks.example.com)")
	}
	return nil
}
