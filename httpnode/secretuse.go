package httpnode

import (
	"maps"
	"slices"
	"strconv"
)

// SecretUse is one ${secret.NAME} of a node: the field that holds it and
// the URL the request goes to ("" when only the remote can tell, as a 202's
// Location). The worker checks every use before the main request is sent.
type SecretUse struct {
	Field string `json:"field"`
	Name  string `json:"name"`
	URL   string `json:"url,omitempty"`
}

// SecretUses lists every secret the rendered node refers to, request by
// request (request, callback, notify, cancel), in a stable order. A
// ${taskId} in a URL stands in its path or query, so the URL's host is
// known before the task id is.
func (rd Rendered) SecretUses() []SecretUse {
	var uses []SecretUse
	for _, k := range []struct {
		path string
		r    *Request
	}{{"request", &rd.Request}, {"callback", rd.Callback}, {"notify", rd.Notify}, {"cancel", rd.Cancel}} {
		if k.r != nil {
			uses = k.r.secretUses(k.path, uses)
		}
	}
	return uses
}

// secretUses appends the secrets of r, whose fields are under path.
func (r Request) secretUses(path string, uses []SecretUse) []SecretUse {
	dest := ""
	if r.URL != "" {
		dest = ReplaceRefs(r.URL, func(string) string { return "x" })
	}
	add := func(field, s string) {
		for _, name := range SecretNames(s) {
			uses = append(uses, SecretUse{Field: path + "." + field, Name: name, URL: dest})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
		add("headers."+k, r.Headers[k])
	}
	for _, k := range slices.Sorted(maps.Keys(r.Query)) {
		add("query."+k, r.Query[k])
	}
	if a := r.Auth; a != nil {
		add("auth.token", a.Token)
		add("auth.username", a.Username)
		add("auth.password", a.Password)
		add("auth.key", a.Key)
	}
	if r.Sign != nil {
		for i, s := range r.Sign.Secrets {
			add("sign.secrets["+strconv.Itoa(i)+"]", s)
		}
	}
	if t := r.TLS; t != nil {
		add("tls.ca", t.CA)
		add("tls.cert", t.Cert)
		add("tls.key", t.Key)
	}
	return uses
}
