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

// inject puts the token in place of the placeholder in the request's
// credentials, in place, and reports whether it did.
//
// Only the Authorization header is filled in, and only where the
// placeholder is the credential itself: a header the API echoes or logs
// (User-Agent shows in GitHub's audit log, which the tool may read back),
// or a query or a body, would hand the token back to the tool. A
// placeholder anywhere else goes on as it is: worthless.
func inject(h http.Header, placeholder, token string) bool {
	vals := h.Values("Authorization")
	found := false
	for i, v := range vals {
		if nv, ok := injectValue(v, placeholder, token); ok {
			vals[i], found = nv, true
		}
	}
	return found
}

// injectValue fills in one Authorization value (RFC 9110 §11.6.2:
// auth-scheme SP credentials) whose credentials are the placeholder:
// `Bearer X` (RFC 6750 §2.1), `token X` (gh to GitHub Enterprise Server),
// any other scheme likewise; or Basic (RFC 7617 §2) whose user-id or
// password is the placeholder, as git and curl send a token
// (`x-access-token:X`).
func injectValue(v, placeholder, token string) (string, bool) {
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok || scheme == "" {
		return v, false
	}
	cred = strings.TrimSpace(cred)
	if cred == placeholder {
		return scheme + " " + token, true
	}
	if !strings.EqualFold(scheme, "Basic") {
		return v, false
	}
	dec, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return v, false
	}
	user, pass, ok := strings.Cut(string(dec), ":")
	if !ok || user != placeholder && pass != placeholder {
		return v, false
	}
	if user == placeholder {
		user = token
	}
	if pass == placeholder {
		pass = token
	}
	return scheme + " " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), true
}
