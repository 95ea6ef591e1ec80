package toolproxy

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
)

// NewPlaceholder returns a random stand-in for a token: what the tool holds
// instead of it. It is shaped like a token (letters, digits and "_") so that
// tools pass it on as they would a token, and it means nothing anywhere but
// to the proxy of the run that made it.
func NewPlaceholder() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // never fails on Linux
	return "devicegate_placeholder_" + hex.EncodeToString(b)
}

// inject replaces the placeholder with the token in every header value of
// h, in place, and reports whether it found one.
func inject(h http.Header, placeholder, token string) bool {
	found := false
	for name, vals := range h {
		for i, v := range vals {
			if nv, ok := injectValue(v, placeholder, token); ok {
				vals[i], found = nv, true
			}
		}
		h[name] = vals
	}
	return found
}

// injectValue replaces the placeholder in one header value. Besides the
// literal forms (`Bearer X`, `token X` as gh sends to GitHub Enterprise,
// `X-Api-Key: X`), it looks inside Basic credentials (RFC 7617 §2:
// base64 of user-id ":" password), where git and curl put a token
// (`x-access-token:X`).
func injectValue(v, placeholder, token string) (string, bool) {
	if scheme, cred, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Basic") {
		cred = strings.TrimSpace(cred)
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil && strings.Contains(string(dec), placeholder) {
			return scheme + " " + base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(dec), placeholder, token))), true
		}
	}
	if !strings.Contains(v, placeholder) {
		return v, false
	}
	return strings.ReplaceAll(v, placeholder, token), true
}
