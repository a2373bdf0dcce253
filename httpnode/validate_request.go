package httpnode

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/textproto"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func validateRequest(path string, r Request, rule refRule, errs *[]FieldError) {
	add := func(field, format string, args ...any) {
		*errs = append(*errs, FieldError{Path: path + "." + field, Message: fmt.Sprintf(format, args...)})
	}
	if r.Method != "" && !slices.Contains(Methods, strings.ToUpper(r.Method)) {
		add("method", "%q is not supported (use one of %s)", r.Method, strings.Join(Methods, ", "))
	}
	if r.URL != "" {
		urlRule := rule
		urlRule.secrets, urlRule.callbackURL = false, false
		checkRefs(path+".url", r.URL, urlRule, errs)
		whole := refPattern.FindStringIndex(r.URL)
		switch {
		case whole != nil && whole[0] == 0 && whole[1] == len(r.URL):
			// the whole URL is a parameter: checked when it is rendered
		case strings.Contains(r.URL[:authorityEnd(r.URL)], "${"):
			add("url", "a parameter may not change the URL's scheme or host (make the whole URL one parameter instead)")
		default:
			probe := ReplaceRefs(r.URL, func(string) string { return "x" })
			u, err := url.Parse(probe)
			switch {
			case !strings.Contains(probe, "://") && looksLikeHost(probe):
				add("url", "has no scheme: add http:// or https:// (as in https://%s)", r.URL)
			case err != nil:
				add("url", "is not a valid URL: %v", cleanURLError(err))
			case u.Scheme != "http" && u.Scheme != "https":
				add("url", "scheme %q is not supported (use http or https)", u.Scheme)
			case u.Host == "":
				add("url", "has no host (use an absolute URL such as https://api.example.com/jobs)")
			case u.User != nil:
				add("url", "must not carry credentials (use auth with a ${secret.NAME} reference)")
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Query)) {
		checkRefs(path+".query."+k, r.Query[k], rule, errs)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
		v := r.Headers[k]
		hp := path + ".headers." + k
		switch {
		case !validHeaderName(k):
			*errs = append(*errs, FieldError{hp, "is not a valid header name"})
		case strings.ContainsAny(v, "\r\n"):
			*errs = append(*errs, FieldError{hp, "value must not contain CR or LF"})
		case IsSensitiveHeader(k) && len(SecretNames(v)) == 0:
			example, name := "Bearer ${secret.API_TOKEN}", "API_TOKEN"
			if c := textproto.CanonicalMIMEHeaderKey(k); c == "Cookie" || c == "Set-Cookie" {
				example, name = "session=${secret.SESSION_COOKIE}", "SESSION_COOKIE"
			} else if c != "Authorization" && c != "Proxy-Authorization" {
				example, name = "${secret.API_KEY}", "API_KEY"
			}
			*errs = append(*errs, FieldError{hp, fmt.Sprintf("carries a credential as a literal value, which would be stored in workflow history; write a reference such as %q and set HTTPNODE_SECRET_%s on the worker, bound to its hosts with HTTPNODE_SECRET_%s_HOSTS", example, name, name)})
		}
		checkRefs(hp, v, rule, errs)
	}
	if r.Auth != nil {
		validateAuth(path+".auth", *r.Auth, errs)
	}
	validateBody(path, r, rule, errs)
	if r.Timeout < 0 {
		add("timeout", "must not be negative")
	}
	for i, p := range r.SuccessStatus {
		if _, err := parseStatusPattern(p); err != nil {
			add("successStatus["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.ErrorMessages)) {
		if _, err := parseStatusPattern(k); err != nil {
			add("errorMessages."+k, "key %v", err)
		}
	}
	if r.TLS != nil {
		validateTLS(path+".tls", *r.TLS, errs)
	}
	if r.Proxy != "" {
		if u, err := url.Parse(r.Proxy); err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "socks5"}, u.Scheme) {
			add("proxy", "%q is not a proxy URL (use http://host:port, https://host:port or socks5://host:port)", r.Proxy)
		}
	}
	if r.MaxRedirects < 0 || r.MaxRedirects > MaxRedirectsLimit {
		add("maxRedirects", "%d is out of range (use 1 to %d; 0 means %d)", r.MaxRedirects, MaxRedirectsLimit, DefaultMaxRedirects)
	} else if r.MaxRedirects > 0 && !r.FollowRedirects {
		add("maxRedirects", "has no effect without followRedirects: true")
	}
	*errs = append(*errs, r.size().Problems(path)...)
	validateSign(path, r.Sign, errs)
	if r.MaxResponseBytes < 0 || r.MaxResponseBytes > MaxResponseBytesLimit {
		add("maxResponseBytes", "%d is out of range (use 1 to %d; larger bodies do not belong in workflow history)", r.MaxResponseBytes, MaxResponseBytesLimit)
	}
}

// validateTLS checks a request's TLS fields without touching the file
// system: secrets are single references, files are names under the
// worker's TLS directory.
func validateTLS(path string, t TLS, errs *[]FieldError) {
	add := func(field, msg string) { *errs = append(*errs, FieldError{Path: path + field, Message: msg}) }
	for _, f := range []struct{ field, v, example string }{{"ca", t.CA, "PARTNER_CA"}, {"cert", t.Cert, "CLIENT_CERT"}, {"key", t.Key, "CLIENT_KEY"}} {
		if f.v == "" {
			continue
		}
		if !isSingleSecretRef(f.v) {
			add("."+f.field, "must be one secret reference such as ${secret."+f.example+"} (the secret holds the PEM text)")
			continue
		}
		checkRefs(path+"."+f.field, f.v, refRule{secrets: true}, errs)
	}
	for _, f := range []struct{ field, v string }{{"caFile", t.CAFile}, {"certFile", t.CertFile}, {"keyFile", t.KeyFile}} {
		if f.v != "" && !LocalTLSFile(f.v) {
			add("."+f.field, "must name a file in the worker's TLS directory (--tls-dir), relative to it, such as \"partner/ca.pem\": no other path on the worker can be used (or put the PEM in a secret and write \"ca\", \"cert\" or \"key\": \"${secret.NAME}\")")
		}
	}
	switch {
	case t.CA != "" && t.CAFile != "":
		add("", "give ca (a secret) or caFile (a file under --tls-dir), not both")
	case (t.Cert == "") != (t.Key == ""):
		add("", "cert and key go together (give both secrets for a client certificate, or neither)")
	case (t.CertFile == "") != (t.KeyFile == ""):
		add("", "certFile and keyFile go together (give both for a client certificate, or neither)")
	case t.Cert != "" && t.CertFile != "":
		add("", "give cert and key (secrets) or certFile and keyFile (files under --tls-dir), not both")
	}
}

// LocalTLSFile reports whether name can name a file in the worker's TLS
// directory: a relative path that stays inside it ("partner/ca.pem"), with
// forward slashes. It is decided on the text alone.
func LocalTLSFile(name string) bool {
	return name != "" && !strings.ContainsAny(name, "\\\x00") && filepath.IsLocal(name) && path.Clean(name) == name
}

func validateAuth(path string, a Auth, errs *[]FieldError) {
	add := func(field, msg string) { *errs = append(*errs, FieldError{Path: path + field, Message: msg}) }
	secretField := func(field, v, example string) {
		switch {
		case v == "":
			add("."+field, "is required for auth type "+a.Type+" (write a reference such as ${secret."+example+"})")
		case !isSingleSecretRef(v):
			add("."+field, "must be a secret reference such as ${secret."+example+"}, not a literal value: the node is stored in workflow history; set HTTPNODE_SECRET_"+example+" on the worker, bound to its hosts with HTTPNODE_SECRET_"+example+"_HOSTS")
		}
	}
	switch a.Type {
	case "bearer":
		secretField("token", a.Token, "API_TOKEN")
	case "basic":
		if a.Username == "" {
			add(".username", "is required for auth type basic")
		}
		checkRefs(path+".username", a.Username, refRule{secrets: true}, errs)
		secretField("password", a.Password, "API_PASSWORD")
	case "apiKey":
		secretField("key", a.Key, "API_KEY")
		if a.Name != "" && !validHeaderName(a.Name) {
			add(".name", fmt.Sprintf("%q is not a valid header or parameter name", a.Name))
		}
		if !slices.Contains([]string{"", "header", "query"}, a.In) {
			add(".in", fmt.Sprintf("%q is not allowed (use \"header\" or \"query\")", a.In))
		}
	default:
		add(".type", fmt.Sprintf("%q is not supported (use \"bearer\", \"basic\" or \"apiKey\")", a.Type))
	}
}

func validateBody(path string, r Request, rule refRule, errs *[]FieldError) {
	add := func(msg string) { *errs = append(*errs, FieldError{Path: path + ".body", Message: msg}) }
	if len(r.Body) == 0 {
		if r.BodyType != "" && !slices.Contains([]string{BodyJSON, BodyForm, BodyRaw}, r.BodyType) {
			*errs = append(*errs, FieldError{path + ".bodyType", fmt.Sprintf("%q is not supported (use \"json\", \"form\" or \"raw\")", r.BodyType)})
		}
		return
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		add("is not valid JSON")
		return
	}
	switch r.BodyType {
	case "", BodyJSON:
	case BodyForm:
		obj, ok := v.(map[string]any)
		if !ok {
			add("must be an object of strings, numbers or booleans for bodyType form")
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			switch obj[k].(type) {
			case string, float64, bool:
			default:
				*errs = append(*errs, FieldError{path + ".body." + k, "must be a string, number or boolean for bodyType form"})
			}
		}
	case BodyRaw:
		if _, ok := v.(string); !ok {
			add("must be a JSON string for bodyType raw (the text sent as is)")
		}
	default:
		*errs = append(*errs, FieldError{path + ".bodyType", fmt.Sprintf("%q is not supported (use \"json\", \"form\" or \"raw\")", r.BodyType)})
	}
	bodyRule := rule
	bodyRule.secrets = false
	walkStrings(v, func(s string) { checkRefs(path+".body", s, bodyRule, errs) })
}

// walkStrings calls fn for every string value in a decoded JSON value.
func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			walkStrings(x[k], fn)
		}
	}
}

// looksLikeHost reports whether a URL without a scheme starts with a host
// name or address, such as 127.0.0.1:8080/x or api.example.com/jobs.
func looksLikeHost(s string) bool {
	host, _, _ := strings.Cut(s, "/")
	host, _, _ = strings.Cut(host, "?")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.Contains(host, ".") && !strings.ContainsAny(host, " :@") || host == "localhost"
}
