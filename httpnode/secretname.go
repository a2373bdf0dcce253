package httpnode

import (
	"errors"
	"fmt"
	"strings"
)

// SecretHostsSuffix ends the environment variable that binds a secret to
// its hosts: HTTPNODE_SECRET_API_TOKEN_HOSTS lists where API_TOKEN may be
// sent. A secret's own name cannot end in it.
const SecretHostsSuffix = "_HOSTS"

// MinSecretLength is the shortest secret value the worker uses: a shorter
// one could not be masked without turning ordinary text into stars (a
// one-letter password would mask every such letter in a result).
const MinSecretLength = 8

// CheckSecretName returns an error unless name can name a secret: letters,
// digits and _, not starting with a digit (safe as a file name), not ending
// in _HOSTS, and not shaped like a secret value (whsec_..., long random
// text). The error repeats the name only when it cannot be a value, so a
// value pasted where a name belongs is never printed.
func CheckSecretName(name string) error {
	switch {
	case looksLikeSecretValue(name):
		return errors.New("this looks like a secret value, not a secret's name (it is not shown): give the name, such as API_TOKEN, and set the value on the worker")
	case !isIdent(name):
		if len(name) > 32 {
			return errors.New("this is not a secret name (use letters, digits and _, as in API_TOKEN)")
		}
		return fmt.Errorf("secret name %q is not valid (use letters, digits and _, as in API_TOKEN)", name)
	case strings.HasSuffix(name, SecretHostsSuffix) && len(name) > len(SecretHostsSuffix):
		return fmt.Errorf("secret name %q ends in %s, which names the hosts a secret is bound to, not a secret", name, SecretHostsSuffix)
	}
	return nil
}

// looksLikeSecretValue reports whether s is more likely a secret's value
// than its name: a webhook secret's prefix, base64 padding or separators,
// or long text mixing lower case, upper case and digits.
func looksLikeSecretValue(s string) bool {
	if strings.HasPrefix(strings.ToLower(s), "whsec_") || len(s) >= 40 {
		return true
	}
	var lower, upper, digit bool
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		case c == '+' || c == '/' || c == '=':
			if len(s) >= 16 {
				return true
			}
		}
	}
	return len(s) >= 20 && lower && upper && digit
}
