package demoidp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/demoidp"
	"github.com/devicegate/devicegate/internal/testing/demoidptest"
)

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Interval     int    `json:"interval"`
	Error        string `json:"error"`
	DeviceCode   string `json:"device_code"`
	UserCode     string `json:"user_code"`
	VerifyURI    string `json:"verification_uri"`
	VerifyFull   string `json:"verification_uri_complete"`
	ExpiresIn    int    `json:"expires_in"`
}

func postForm(t *testing.T, u string, v url.Values) (int, tokenAnswer) {
	t.Helper()
	res, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a tokenAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return res.StatusCode, a
}

// signIn runs a device flow by hand and returns the token answer.
func signIn(t *testing.T, s *demoidptest.Server, scope string, grant []string) tokenAnswer {
	t.Helper()
	_, da := postForm(t, s.Issuer+"/device_authorization", url.Values{"client_id": {s.ClientID}, "scope": {scope}})
	if da.DeviceCode == "" || da.VerifyURI != s.Issuer+demoidp.PathDevice ||
		da.VerifyFull != s.Issuer+demoidp.PathDevice+"?user_code="+da.UserCode || da.Interval != int(s.Options().PollInterval/time.Second) || da.ExpiresIn != 600 {
		t.Fatalf("device authorization: %+v", da)
	}
	poll := url.Values{"client_id": {s.ClientID}, "grant_type": {demoidp.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}}
	if status, a := postForm(t, s.Issuer+"/oauth/token", poll); status != 400 || a.Error != "authorization_pending" {
		t.Fatalf("before approval: %d %+v", status, a)
	}
	if err := s.Approve(context.Background(), da.UserCode, grant); err != nil {
		t.Fatal(err)
	}
	status, a := postForm(t, s.Issuer+"/oauth/token", poll)
	if status != 200 || a.AccessToken == "" {
		t.Fatalf("after approval: %d %+v", status, a)
	}
	// The device code is spent.
	if status, again := postForm(t, s.Issuer+"/oauth/token", poll); status != 400 || again.AccessToken != "" {
		t.Fatalf("second poll after approval: %d %+v", status, again)
	}
	return a
}

func TestDeviceFlowNarrowingRotationReuse(t *testing.T) {
	s := demoidptest.Start(t, demoidp.Options{PollInterval: time.Second})
	a := signIn(t, s, "openid email offline_access api:read unknown:scope", []string{"openid", "email", "offline_access"})
	if a.Scope != "openid email offline_access" || a.RefreshToken == "" {
		t.Fatalf("granted %q, refresh token %v", a.Scope, a.RefreshToken != "")
	}
	refresh := func(rt string) (int, tokenAnswer) {
		return postForm(t, s.Issuer+"/oauth/token", url.Values{"client_id": {s.ClientID}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	status, b := refresh(a.RefreshToken)
	if status != 200 || b.RefreshToken == "" || b.RefreshToken == a.RefreshToken || b.Scope != a.Scope {
		t.Fatalf("refresh: %d, rotated %v, scope %q", status, b.RefreshToken != a.RefreshToken, b.Scope)
	}
	// Reuse of the rotated token ends the grant: the new one dies too.
	if status, c := refresh(a.RefreshToken); status != 400 || c.Error != "invalid_grant" {
		t.Fatalf("reuse: %d %+v", status, c)
	}
	if status, c := refresh(b.RefreshToken); status != 400 || c.Error != "invalid_grant" {
		t.Fatalf("after reuse: %d %+v", status, c)
	}
	if st := s.Stats(); st.TokenRequestsByGrant["refresh_token"] != 3 || st.TokenRequestsByGrant[demoidp.GrantTypeDeviceCode] != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNoRefreshTokenWithoutOfflineAccess(t *testing.T) {
	s := demoidptest.Start(t, demoidp.Options{})
	if a := signIn(t, s, "openid profile", nil); a.RefreshToken != "" || a.Scope != "openid profile" {
		t.Fatalf("%+v", a)
	}
}

func TestPages(t *testing.T) {
	s := demoidptest.Start(t, demoidp.Options{ShowPassword: true})
	ctx := context.Background()
	get := func(path string) string {
		res, err := http.Get(s.Issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return b.String()
	}
	page := get(demoidp.PathDevice + "?user_code=bcdf-ghjk")
	for _, want := range []string{"<title>" + demoidp.TitleSignIn, `value="BCDF-GHJK"`, "Demo account: user name <b>demo</b>, password <b>demo</b>"} {
		if !strings.Contains(page, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	if page := get(demoidp.PathDevice + `?user_code="><script>`); strings.Contains(page, "<script>") {
		t.Error("the user code is not escaped")
	}
	if err := s.Approve(ctx, "BCDF-GHJK", nil); !errors.Is(err, demoidptest.ErrRejected) {
		t.Errorf("unknown code: %v", err)
	}
	// A decision without the sign-in's cookie is refused.
	res, err := http.PostForm(s.Issuer+demoidp.PathConsent, url.Values{"decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("consent without a sign-in: %d", res.StatusCode)
	}
}

func TestOptions(t *testing.T) {
	for _, issuer := range []string{"", "localhost:9000", "ftp://x", "http://x/path/"} {
		if _, err := demoidp.New(demoidp.Options{Issuer: issuer}); err == nil {
			t.Errorf("issuer %q accepted", issuer)
		}
	}
}
