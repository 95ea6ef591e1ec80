package oauthhttp

import (
	"net/http"
	"testing"
)

func TestParseTokenResponse(t *testing.T) {
	tests := []struct {
		ct, body string
		ok       bool
		access   string
		errCode  string
	}{
		{"application/json", `{"access_token":"a","expires_in":3600}`, true, "a", ""},
		{"application/json; charset=utf-8", `{"error":"authorization_pending"}`, true, "", "authorization_pending"},
		{"application/x-www-form-urlencoded", "access_token=gho_1&scope=repo%2Cgist&token_type=bearer", true, "gho_1", ""},
		{"text/plain", "error=slow_down&interval=10", true, "", "slow_down"},
		{"text/html", "<html>oops</html>", false, "", ""},
		{"application/json", `{"access_token":"a"`, false, "", ""},
		{"", `[1,2]`, false, "", ""},
		{"application/x-www-form-urlencoded", "hello=world", false, "", ""},
	}
	for _, tt := range tests {
		tr, err := ParseTokenResponse(http.Header{"Content-Type": {tt.ct}}, []byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v", tt.body, err)
			continue
		}
		if err == nil && (tr.AccessToken != tt.access || tr.Error != tt.errCode) {
			t.Errorf("%q: got %+v", tt.body, tr)
		}
	}
}

func FuzzParseTokenResponse(f *testing.F) {
	f.Add("application/json", []byte(`{"access_token":"a","expires_in":"12","scope":"x"}`))
	f.Add("application/x-www-form-urlencoded", []byte("access_token=a&interval=5"))
	f.Add("text/html", []byte("<html>"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		tr, err := ParseTokenResponse(http.Header{"Content-Type": {ct}}, body)
		if err == nil && (tr.ExpiresIn < 0 || tr.Interval < 0 || tr.Raw == nil) {
			t.Fatalf("bad parse %+v", tr)
		}
	})
}

func TestClip(t *testing.T) {
	if got := Clip("héllo", 2); got != "h…" {
		t.Fatalf("Clip cut a rune: %q", got)
	}
}
