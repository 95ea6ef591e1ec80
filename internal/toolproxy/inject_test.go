package toolproxy

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func TestInjectHeaders(t *testing.T) {
	ph, tok := "PH_0123456789", "TOKEN_abcdef"
	h := http.Header{
		"Authorization": {"Bearer " + ph},
		"X-Two":         {"a", "b " + ph + " " + ph},
		"Accept":        {"application/json"},
	}
	if !inject(h, ph, tok) {
		t.Fatal("inject found no placeholder")
	}
	if h.Get("Authorization") != "Bearer "+tok || h["X-Two"][1] != "b "+tok+" "+tok || h["X-Two"][0] != "a" || h.Get("Accept") != "application/json" {
		t.Errorf("inject made %v", h)
	}
	if inject(http.Header{"Accept": {"x"}}, ph, tok) {
		t.Error("inject found a placeholder in a header without one")
	}
}

// FuzzInjectValue: after injection no placeholder is left in a header
// value, in clear or inside Basic credentials, and a value without one is
// unchanged.
func FuzzInjectValue(f *testing.F) {
	ph, tok := NewPlaceholder(), "gho_TOKEN"
	for _, s := range []string{
		"Bearer " + ph, "token " + ph, "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+ph)),
		"Basic !!!", "Basic", "basic  " + base64.StdEncoding.EncodeToString([]byte(ph)), ph + ph, "", "Bearer x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, changed := injectValue(v, ph, tok)
		if strings.Contains(got, ph) {
			t.Fatalf("%q -> %q still holds the placeholder", v, got)
		}
		if scheme, cred, ok := strings.Cut(got, " "); ok && strings.EqualFold(scheme, "Basic") {
			if d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil && strings.Contains(string(d), ph) {
				t.Fatalf("%q -> %q still holds the placeholder inside Basic", v, got)
			}
		}
		if !changed && got != v {
			t.Fatalf("%q changed to %q without a placeholder", v, got)
		}
		if changed && !strings.Contains(got, tok) && !strings.HasPrefix(strings.ToLower(got), "basic") {
			t.Fatalf("%q -> %q: changed but no token", v, got)
		}
	})
}
