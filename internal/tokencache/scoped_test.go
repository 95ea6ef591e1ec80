package tokencache

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScopeKey(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"b", "a"}, "a b"},
		{[]string{"a b", "a"}, "a b"},
		{[]string{" https://management.azure.com/.default "}, "https://management.azure.com/.default"},
		{nil, ""},
	} {
		if got := ScopeKey(tc.in); got != tc.want {
			t.Errorf("ScopeKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Scoped tokens, the one-off mark and the AWS state survive a round trip,
// and an entry written before they existed still loads.
func TestScopedRoundTrip(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), "d"), key(t))
	e := entry("default")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e.SetScoped(&ScopedToken{Scopes: []string{"api:read", "openid"}, AccessToken: "narrow-secret", Expiry: exp})
	e.OneOff = true
	e.AWS = &AWS{AccountID: "123456789012", RoleName: "ReadOnly", ClientID: "c",
		Credentials: &AWSCredentials{AccessKeyID: "ASIA", SecretAccessKey: "s", SessionToken: "t", Expiration: exp}}
	if err := s.Save(e); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	st := got.ScopedFor([]string{"openid", "api:read"})
	if st == nil || st.AccessToken != "narrow-secret" || !st.Valid(exp.Add(-time.Hour), time.Minute) || st.Valid(exp, 0) {
		t.Fatalf("scoped token %+v", st)
	}
	if got.ScopedFor([]string{"api:read"}) != nil {
		t.Fatal("a different scope set found a token")
	}
	if !got.OneOff || !got.AWS.Credentials.Valid(exp.Add(-time.Hour), time.Minute) || got.AWS.Credentials.Valid(exp, 0) {
		t.Fatalf("one-off %v, aws %+v", got.OneOff, got.AWS)
	}

	old := `{"version":1,"profile":"old","provider":"oidc","access_token":"a","refresh_token":"r","account":{}}`
	plain, _ := Open(t.TempDir(), nil)
	o, err := plain.decode("old", []byte(old))
	if err != nil || o.Scoped != nil || o.AWS != nil || o.OneOff {
		t.Fatalf("old entry: %+v, %v", o, err)
	}
	b, _ := plain.Encode(o)
	if strings.Contains(string(b), "scoped") || strings.Contains(string(b), "aws") || strings.Contains(string(b), "one_off") {
		t.Fatalf("empty new fields are written: %s", b)
	}
}
