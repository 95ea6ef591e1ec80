package toolproxy

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestInjectValue(t *testing.T) {
	ph, tok := "PH_0123456789", "TOKEN_abcdef"
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer " + ph, "Bearer " + tok, true},
		{"bearer  " + ph, "bearer " + tok, true},
		{"token " + ph, "token " + tok, true},
		{"Basic " + b64("x-access-token:"+ph), "Basic " + b64("x-access-token:"+tok), true},
		{"Basic " + b64(ph+":x-oauth-basic"), "Basic " + b64(tok+":x-oauth-basic"), true},
		{"Basic " + b64(ph+":"+ph), "Basic " + b64(tok+":"+tok), true},
		// Not the credential itself: left as it is.
		{"Bearer x" + ph, "Bearer x" + ph, false},
		{"Bearer " + ph + " extra", "Bearer " + ph + " extra", false},
		{"Basic " + b64("user:pass"+ph), "Basic " + b64("user:pass"+ph), false},
		{"Basic " + b64(ph), "Basic " + b64(ph), false},
		{"Basic !!" + ph, "Basic !!" + ph, false},
		{ph, ph, false},
		{" " + ph, " " + ph, false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := injectValue(tt.in, ph, tok)
		if got != tt.want || ok != tt.ok {
			t.Errorf("injectValue(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestInjectOnlyAuthorization(t *testing.T) {
	ph, tok := "PH_0123456789", "TOKEN_abcdef"
	h := http.Header{
		"Authorization": {"Bearer " + ph},
		"User-Agent":    {ph},
		"X-Api-Key":     {ph},
		"Cookie":        {"t=" + ph},
	}
	if !inject(h, ph, tok) {
		t.Fatal("inject found no placeholder")
	}
	if h.Get("Authorization") != "Bearer "+tok {
		t.Errorf("Authorization %q", h.Get("Authorization"))
	}
	for _, k := range []string{"User-Agent", "X-Api-Key", "Cookie"} {
		if strings.Contains(h.Get(k), tok) {
			t.Errorf("the token went into %s", k)
		}
	}
	if inject(http.Header{"Accept": {"x"}}, ph, tok) {
		t.Error("inject found a placeholder in a request without credentials")
	}
}

// FuzzInjectValue: the token goes in only in place of a placeholder that
// is the whole credential, and only there: putting the placeholder back
// where the token is gives the value the tool sent.
func FuzzInjectValue(f *testing.F) {
	ph, tok := NewPlaceholder(), "gho_TOKEN"
	for _, s := range []string{
		"Bearer " + ph, "token " + ph, "Basic " + b64("x-access-token:"+ph), "Basic " + b64(ph+":"),
		"Basic !!!", "Basic", "basic  " + b64(ph), ph + ph, "", "Bearer x", "Bearer " + ph + ph,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, changed := injectValue(v, ph, tok)
		if !changed {
			if got != v {
				t.Fatalf("%q changed to %q", v, got)
			}
			return
		}
		scheme, cred, _ := strings.Cut(got, " ")
		if strings.Contains(got, ph) {
			t.Fatalf("%q -> %q still holds the placeholder", v, got)
		}
		if cred == tok {
			return
		}
		dec, err := base64.StdEncoding.DecodeString(cred)
		if !strings.EqualFold(scheme, "Basic") || err != nil {
			t.Fatalf("%q -> %q: neither the token nor Basic credentials", v, got)
		}
		user, pass, _ := strings.Cut(string(dec), ":")
		if user != tok && pass != tok || strings.Contains(string(dec), ph) {
			t.Fatalf("%q -> %q: Basic %q", v, got, dec)
		}
	})
}
