package config

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/testing/configtest"
)

func setEnv(t *testing.T, env map[string]string) {
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// kinds stand in for internal/preset's (preset.Kinds; config cannot
// import it): the names these tests use, and aws's two rules, which
// internal/preset's TestConfigAgreesWithPresets checks with the real ones.
var kinds = []Kind{
	{Name: "microsoft"}, {Name: "github"}, {Name: "google"}, {Name: "auth0"},
	{Name: "okta"}, {Name: "keycloak"}, {Name: "oidc"},
	{Name: "aws", OwnClient: true, RunExports: true},
}

var base = map[string]string{"OAUTH_PROVIDER": "github", "OAUTH_CLIENT_ID": "Iv1.abc"}

func TestLoadDefaults(t *testing.T) {
	configtest.ClearEnv(t)
	setEnv(t, base)
	// compose passes `NAME=` lines of .env as empty strings: same as unset
	setEnv(t, map[string]string{"SIDECAR_LOGIN_RESTARTS": "", "SIDECAR_KEEPALIVE": " ", "TELEGRAM_API_URL": "", "TELEGRAM_LISTEN": "", "TELEGRAM_CHAT_ID": ""})
	c, err := Load(kinds)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sidecar.LoginRestarts != 3 || c.Sidecar.Keepalive.D().Hours() != 24 || c.Telegram.ApiURL != "https://api.telegram.org" {
		t.Fatalf("defaults: %+v %+v", c.Sidecar, c.Telegram)
	}
	// The bot is the gatekeeper's own: serve listens unless told not to,
	// and waits two minutes for the owner.
	if !c.Telegram.Listen || c.Sidecar.ApprovalTimeout.D() != 2*time.Minute || c.Telegram.Owner() != 0 {
		t.Fatalf("defaults: listen %v, approval timeout %v, owner %d", c.Telegram.Listen, c.Sidecar.ApprovalTimeout.D(), c.Telegram.Owner())
	}
	p, err := c.Profile("")
	if err != nil || p.Name != DefaultProfile || p.ClientID != "Iv1.abc" {
		t.Fatalf("default profile: %+v %v", p, err)
	}
	if !strings.HasSuffix(c.DataDir, "/devicegate") {
		t.Fatalf("data dir %q", c.DataDir)
	}
}

func TestProfiles(t *testing.T) {
	configtest.ClearEnv(t)
	setEnv(t, map[string]string{
		"SIDECAR_PROFILES":     "gh, work",
		"OAUTH_GH_PROVIDER":    "github",
		"OAUTH_GH_CLIENT_ID":   "gh-id",
		"OAUTH_WORK_PROVIDER":  "microsoft",
		"OAUTH_WORK_CLIENT_ID": "ms-id",
		"OAUTH_WORK_TENANT":    "organizations",
		"OAUTH_WORK_SCOPES":    "User.Read Mail.Read",
		"CLIENT_ID":            "must-not-leak-into-profiles",
	})
	c, err := Load(kinds)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Order, ",") != "gh,work" {
		t.Fatalf("order %v", c.Order)
	}
	if p, _ := c.Profile(""); p.Name != "gh" {
		t.Fatalf("without OAUTH_*, the first profile is the default, got %s", p.Name)
	}
	w, _ := c.Profile("work")
	if w.Tenant != "organizations" || w.ClientID != "ms-id" || len(w.ScopeList()) != 2 {
		t.Fatalf("work: %+v", w)
	}
	if _, err := c.Profile("nope"); err == nil || !strings.Contains(err.Error(), "gh, work") {
		t.Fatalf("unknown profile error: %v", err)
	}
}

func TestSecretFiles(t *testing.T) {
	configtest.ClearEnv(t)
	dir := t.TempDir()
	sec := filepath.Join(dir, "secret")
	os.WriteFile(sec, []byte("s3cret\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	setEnv(t, map[string]string{"OAUTH_PROVIDER": "google", "OAUTH_CLIENT_ID": "x", "OAUTH_CLIENT_SECRET_FILE": sec, "TELEGRAM_BOT_TOKEN_FILE": empty})
	c, err := Load(kinds)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Profile("")
	if s, _ := p.Secret(); s != "s3cret" {
		t.Fatalf("secret = %q", s)
	}
	if tok, _ := c.Telegram.Token(); tok != "" {
		t.Fatal("an empty secret file counts as unset")
	}
}

// Every variable given an invalid value yields an error naming it.
func TestInvalidValuesNameTheVariable(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantVar string
	}{
		{map[string]string{"OAUTH_PROVIDER": ""}, "OAUTH_PROVIDER"},
		{map[string]string{"OAUTH_PROVIDER": "myspace"}, "OAUTH_PROVIDER"},
		{map[string]string{"OAUTH_CLIENT_ID": ""}, "OAUTH_CLIENT_ID"},
		{map[string]string{"OAUTH_CLIENT_SECRET": "a", "OAUTH_CLIENT_SECRET_FILE": "/x"}, "OAUTH_CLIENT_SECRET"},
		{map[string]string{"OAUTH_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "OAUTH_CLIENT_SECRET_FILE"},
		{map[string]string{"OAUTH_SCOPES": "repo \"quoted\""}, "OAUTH_SCOPES"},
		{map[string]string{"OAUTH_PROVIDER": "okta", "OAUTH_ISSUER": "not a url"}, "OAUTH_ISSUER"},
		{map[string]string{"OAUTH_PROVIDER": "keycloak", "OAUTH_ISSUER": "http://idp.example.com/realms/x"}, "OAUTH_ISSUER"},
		{map[string]string{"OAUTH_DEVICE_AUTH_URL": "ftp://x"}, "OAUTH_DEVICE_AUTH_URL"},
		{map[string]string{"OAUTH_TOKEN_URL": "/relative"}, "OAUTH_TOKEN_URL"},
		{map[string]string{"OAUTH_USERINFO_URL": "https://user:pw@x.example/"}, "OAUTH_USERINFO_URL"},
		{map[string]string{"OAUTH_REVOKE_URL": "http://x.example/revoke"}, "OAUTH_REVOKE_URL"},
		{map[string]string{"OAUTH_API_URL": "::"}, "OAUTH_API_URL"},
		{map[string]string{"SIDECAR_PROFILES": "Bad-Name"}, "SIDECAR_PROFILES"},
		{map[string]string{"SIDECAR_PROFILES": "default"}, "SIDECAR_PROFILES"},
		{map[string]string{"SIDECAR_PROFILES": "gh,gh", "OAUTH_GH_PROVIDER": "github", "OAUTH_GH_CLIENT_ID": "x"}, "SIDECAR_PROFILES"},
		{map[string]string{"SIDECAR_PROFILES": "gh"}, "OAUTH_GH_PROVIDER"},
		{map[string]string{"SIDECAR_PROFILES": "gh", "OAUTH_GH_PROVIDER": "github"}, "OAUTH_GH_CLIENT_ID"},
		{map[string]string{"SIDECAR_LOGIN_RESTARTS": "many"}, "SIDECAR_LOGIN_RESTARTS"},
		{map[string]string{"SIDECAR_LOGIN_RESTARTS": "-1"}, "SIDECAR_LOGIN_RESTARTS"},
		{map[string]string{"SIDECAR_KEEPALIVE": "daily"}, "SIDECAR_KEEPALIVE"},
		{map[string]string{"SIDECAR_KEEPALIVE": "1s"}, "SIDECAR_KEEPALIVE"},
		{map[string]string{"SIDECAR_HTTP_TIMEOUT": "0s"}, "SIDECAR_HTTP_TIMEOUT"},
		{map[string]string{"SIDECAR_APPROVAL_TIMEOUT": "0s"}, "SIDECAR_APPROVAL_TIMEOUT"},
		{map[string]string{"SIDECAR_APPROVAL_TIMEOUT": "2h"}, "SIDECAR_APPROVAL_TIMEOUT"},
		{map[string]string{"SIDECAR_APPROVAL_TIMEOUT": "soon"}, "SIDECAR_APPROVAL_TIMEOUT"},
		{map[string]string{"TELEGRAM_OWNER_ID": "-5"}, "TELEGRAM_OWNER_ID"},
		{map[string]string{"TELEGRAM_OWNER_ID": "me"}, "TELEGRAM_OWNER_ID"},
		{map[string]string{"SIDECAR_CACHE_KEY": "a", "SIDECAR_CACHE_KEY_FILE": "/x"}, "SIDECAR_CACHE_KEY"},
		{map[string]string{"SIDECAR_CACHE_KEY_FILE": "/nonexistent"}, "SIDECAR_CACHE_KEY_FILE"},
		{map[string]string{"TELEGRAM_CHAT_ID": "@me"}, "TELEGRAM_CHAT_ID"},
		{map[string]string{"TELEGRAM_API_URL": "telegram"}, "TELEGRAM_API_URL"},
		{map[string]string{"TELEGRAM_LISTEN": "maybe"}, "TELEGRAM_LISTEN"},
		{map[string]string{"TELEGRAM_BOT_TOKEN_FILE": "/nonexistent"}, "TELEGRAM_BOT_TOKEN_FILE"},
		{map[string]string{"XDG_DATA_HOME": "relative/dir"}, "XDG_DATA_HOME"},
		{map[string]string{"OAUTH_ONE_OFF": "once"}, "OAUTH_ONE_OFF"},
		{map[string]string{"OAUTH_POLICY": "allow token; alow GET /me"}, "OAUTH_POLICY"},
		{map[string]string{"SIDECAR_PROFILES": "gh", "OAUTH_GH_PROVIDER": "github", "OAUTH_GH_CLIENT_ID": "x", "OAUTH_GH_POLICY": "allow GET repos"}, "OAUTH_GH_POLICY"},
		{map[string]string{"OAUTH_FLOW": "browser"}, "OAUTH_FLOW"},
		{map[string]string{"SIDECAR_CALLBACK_LISTEN": "8400"}, "SIDECAR_CALLBACK_LISTEN"},
		{map[string]string{"SIDECAR_CALLBACK_LISTEN": "127.0.0.1:99999"}, "SIDECAR_CALLBACK_LISTEN"},
		{map[string]string{"SIDECAR_CALLBACK_LISTEN": "http://127.0.0.1:8400"}, "SIDECAR_CALLBACK_LISTEN"},
		{map[string]string{"SIDECAR_PROFILES": "gm", "OAUTH_GM_PROVIDER": "google", "OAUTH_GM_CLIENT_ID": "x", "OAUTH_GM_FLOW": "pkce"}, "OAUTH_GM_FLOW"},
		{map[string]string{"OAUTH_REDIRECT_URL": "http://192.0.2.1:8080/callback"}, "OAUTH_REDIRECT_URL"},
		{map[string]string{"OAUTH_REDIRECT_URL": "http://127.0.0.1:8080/callback#x"}, "OAUTH_REDIRECT_URL"},
		{map[string]string{"OAUTH_REDIRECT_URL": "http://127.0.0.1:8080/callback?x=1"}, "OAUTH_REDIRECT_URL"},
		{map[string]string{"OAUTH_REDIRECT_URL": "http://127.0.0.1:99999/callback"}, "OAUTH_REDIRECT_URL"},
		{map[string]string{"OAUTH_REDIRECT_URL": "/callback"}, "OAUTH_REDIRECT_URL"},
		{map[string]string{"OAUTH_AUTH_URL": "http://idp.example/authorize"}, "OAUTH_AUTH_URL"},
		{configtest.AWSEnv("OAUTH_START_URL", "http://d-1.awsapps.com/start"), "OAUTH_START_URL"},
		{configtest.AWSEnv("OAUTH_PORTAL_URL", "http://portal.example/"), "OAUTH_PORTAL_URL"},
		// Token export denied, yet handed to a tool.
		{map[string]string{"OAUTH_POLICY": "deny token; allow run terraform with-token"}, "OAUTH_POLICY"},
		{configtest.AWSEnv("OAUTH_POLICY", "deny token; allow run aws"), "OAUTH_POLICY"},
	}
	for _, tt := range tests {
		t.Run(tt.wantVar, func(t *testing.T) {
			configtest.ClearEnv(t)
			setEnv(t, base)
			setEnv(t, tt.env)
			_, err := Load(kinds)
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != tt.wantVar {
				t.Fatalf("err = %v, want an error naming %s", err, tt.wantVar)
			}
			if !strings.Contains(err.Error(), tt.wantVar) {
				t.Fatalf("message %q does not name %s", err, tt.wantVar)
			}
		})
	}
}

func TestAWSProfile(t *testing.T) {
	configtest.ClearEnv(t)
	setEnv(t, configtest.AWSEnv("OAUTH_ONE_OFF", "true"))
	c, err := Load(kinds)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Profiles[DefaultProfile]
	if p.Provider != "aws" || p.Region != "eu-west-1" || p.AccountID != "123456789012" || p.RoleName != "ReadOnly" || !bool(p.OneOff) {
		t.Fatalf("profile %+v", p)
	}
}

func TestHTTPAllowedOnLoopback(t *testing.T) {
	configtest.ClearEnv(t)
	setEnv(t, map[string]string{"OAUTH_PROVIDER": "oidc", "OAUTH_CLIENT_ID": "x", "OAUTH_ISSUER": "http://127.0.0.1:9999/", "TELEGRAM_API_URL": "http://localhost:8081"})
	c, err := Load(kinds)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Profile(""); p.Issuer != "http://127.0.0.1:9999" {
		t.Fatalf("issuer %q (trailing slash should go)", p.Issuer)
	}
}

func FuzzDecoders(f *testing.F) {
	for _, s := range []string{"", "3", "-1", "24h", "1e9", "true", " 90s ", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// A decoded value prints as text that decodes to the same value;
		// blank text leaves the default alone.
		var i, i2 Int = 7, 0
		if err := i.Decode(s); err == nil {
			if i2.Decode(strconv.FormatInt(int64(i), 10)) != nil || i2 != i {
				t.Fatalf("Int %q: %d does not round trip", s, i)
			}
			if strings.TrimSpace(s) == "" && i != 7 {
				t.Fatalf("blank %q changed the default", s)
			}
		}
		var d, d2 Duration
		if err := d.Decode(s); err == nil {
			if d2.Decode(d.D().String()) != nil || d2 != d {
				t.Fatalf("Duration %q: %s does not round trip", s, d.D())
			}
		}
		var b, b2 Bool
		if err := b.Decode(s); err == nil {
			if b2.Decode(strconv.FormatBool(bool(b))) != nil || b2 != b {
				t.Fatalf("Bool %q: %v does not round trip", s, b)
			}
		}
		// An accepted URL is absolute http(s), without credentials, and
		// plain http only to a loopback host.
		if checkURL("X", s) == nil {
			u, err := url.Parse(s)
			if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
				t.Fatalf("accepted URL %q", s)
			}
		}
		if v, err := secret("X", s, ""); err != nil || v != strings.TrimSpace(s) {
			t.Fatalf("secret(%q) = %q, %v", s, v, err)
		}
	})
}

// The hand-written checks accept exactly what the regular expressions
// they replace accept.
func FuzzValidators(f *testing.F) {
	for _, s := range []string{"gh", "work_2", "Bad", "a" + strings.Repeat("b", 40), "repo", "a\"b", "read:org", "my-app.1", "_x", ""} {
		f.Add(s)
	}
	profile := regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	scope := regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
	label := regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validProfileName(s), profile.MatchString(s); got != want {
			t.Errorf("validProfileName(%q) = %v, want %v", s, got, want)
		}
		if got, want := validScope(s), scope.MatchString(s); got != want {
			t.Errorf("validScope(%q) = %v, want %v", s, got, want)
		}
		if got, want := validLabel(s), label.MatchString(s); got != want {
			t.Errorf("validLabel(%q) = %v, want %v", s, got, want)
		}
	})
}

func TestTelegramOwner(t *testing.T) {
	for _, tc := range []struct {
		owner, chat int64
		want        int64
	}{
		{0, 0, 0},
		{0, 42, 42},     // a private chat: the chat id is the user id
		{0, -100123, 0}, // a group names nobody
		{7, -100123, 7}, // TELEGRAM_OWNER_ID wins
		{7, 42, 7},
	} {
		tg := Telegram{OwnerID: Int(tc.owner), ChatID: Int(tc.chat)}
		if got := tg.Owner(); got != tc.want {
			t.Errorf("owner %d, chat %d: Owner() = %d, want %d", tc.owner, tc.chat, got, tc.want)
		}
	}
}

// splitWords names variables exactly as envconfig's split_words did, so
// that no variable changed its name when envconfig went.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"ClientID", "ApiURL", "HTTPTimeout", "DeviceAuthURL", "BotTokenFile", "ChatID", "MaxBody", "A", "ABc", "x1Y", "URLs"} {
		f.Add(s)
	}
	gather := regexp.MustCompile("([^A-Z]+|[A-Z]+[^A-Z]+|[A-Z]+)")
	acronym := regexp.MustCompile("([A-Z]+)([A-Z][^A-Z]+)")
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || !utf8.ValidString(name) {
			return
		}
		var words []string
		for _, w := range gather.FindAllStringSubmatch(name, -1) {
			if m := acronym.FindStringSubmatch(w[0]); len(m) == 3 {
				words = append(words, m[1], m[2])
			} else {
				words = append(words, w[0])
			}
		}
		if got, want := splitWords(name), strings.Join(words, "_"); got != want {
			t.Fatalf("splitWords(%q) = %q, envconfig made %q", name, got, want)
		}
	})
}

// isLoopback reads an address as net.ParseIP does.
func FuzzIsLoopback(f *testing.F) {
	for _, s := range []string{"localhost", "127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1",
		"::1%lo", "fe80::1", "10.0.0.1", "127.1", "0127.0.0.1", "example.com", "", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip := net.ParseIP(s)
		if got, want := isLoopback(s), s == "localhost" || ip != nil && ip.IsLoopback(); got != want {
			t.Fatalf("isLoopback(%q) = %v, net says %v", s, got, want)
		}
	})
}

// LoadAll finds every invalid or missing variable in one go, in the order
// Load checks them (Load's error is the first), and keeps the valid
// profiles.
func TestLoadAllFindsEveryError(t *testing.T) {
	configtest.ClearEnv(t)
	setEnv(t, map[string]string{
		"SIDECAR_KEEPALIVE":       "5s",
		"SIDECAR_HTTP_TIMEOUT":    "soon",
		"TELEGRAM_CHAT_ID":        "my chat",
		"TELEGRAM_BOT_TOKEN_FILE": "/nonexistent/bot_token",
		"OAUTH_PROVIDER":          "github",
		"SIDECAR_PROFILES":        "work,gh,Bad",
		"OAUTH_WORK_PROVIDER":     "oidc",
		"OAUTH_WORK_ISSUER":       "http://idp.example.com",
		"OAUTH_GH_PROVIDER":       "github",
		"OAUTH_GH_CLIENT_ID":      "Iv1.gh",
	})
	c, errs := LoadAll(kinds)
	var vars []string
	for _, err := range errs {
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("not a *config.Error: %v", err)
		}
		vars = append(vars, ce.Var)
	}
	want := []string{"SIDECAR_HTTP_TIMEOUT", "TELEGRAM_CHAT_ID", "SIDECAR_KEEPALIVE", "TELEGRAM_BOT_TOKEN_FILE",
		"OAUTH_CLIENT_ID", "OAUTH_WORK_CLIENT_ID", "OAUTH_WORK_ISSUER", "SIDECAR_PROFILES"}
	if !slices.Equal(vars, want) {
		t.Fatalf("errors name %q, want %q\n%v", vars, want, errs)
	}
	if !slices.Equal(c.Order, []string{"gh"}) {
		t.Fatalf("valid profiles %q, want only gh", c.Order)
	}
	if _, err := Load(kinds); err != errs[0] && err.Error() != errs[0].Error() {
		t.Fatalf("Load: %v, want the first of LoadAll's: %v", err, errs[0])
	}
}

func TestFlow(t *testing.T) {
	tests := []struct {
		env            map[string]string
		flow, redirect string
	}{
		{map[string]string{}, FlowDevice, ""},
		{map[string]string{"OAUTH_FLOW": " Code "}, FlowCode, ""},
		{map[string]string{"OAUTH_FLOW": "code", "OAUTH_REDIRECT_URL": "http://127.0.0.1/callback"}, FlowCode, "http://127.0.0.1/callback"},
		{map[string]string{"OAUTH_FLOW": "code", "OAUTH_REDIRECT_URL": "http://localhost:8400"}, FlowCode, "http://localhost:8400"},
		{map[string]string{"OAUTH_FLOW": "code", "OAUTH_REDIRECT_URL": "https://auth.example.org/cb"}, FlowCode, "https://auth.example.org/cb"},
	}
	for _, tt := range tests {
		configtest.ClearEnv(t)
		setEnv(t, base)
		setEnv(t, tt.env)
		c, err := Load(kinds)
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		p, _ := c.Profile("")
		if p.Flow != tt.flow || p.RedirectURL != tt.redirect {
			t.Errorf("%v: flow %q redirect %q", tt.env, p.Flow, p.RedirectURL)
		}
	}
}

func TestCallbackListen(t *testing.T) {
	for _, v := range []string{"127.0.0.1:8400", ":8400", "[::1]:8400", "sidecar:80"} {
		configtest.ClearEnv(t)
		setEnv(t, base)
		t.Setenv("SIDECAR_CALLBACK_LISTEN", v)
		c, err := Load(kinds)
		if err != nil || c.Sidecar.CallbackListen != v {
			t.Errorf("%q: %v", v, err)
		}
	}
}

// Load knows no provider: which kinds it accepts and what each demands
// come from its kinds.
func TestKindsDecide(t *testing.T) {
	acme := []Kind{{Name: "acme", OwnClient: true, RunExports: true}}
	tests := []struct {
		name    string
		kinds   []Kind
		env     map[string]string
		wantVar string // "" for none
	}{
		{"a kind not given", acme, map[string]string{"OAUTH_PROVIDER": "github", "OAUTH_CLIENT_ID": "x"}, "OAUTH_PROVIDER"},
		{"own client", acme, map[string]string{"OAUTH_PROVIDER": "acme"}, ""},
		{"every run exports", acme, map[string]string{"OAUTH_PROVIDER": "acme", "OAUTH_POLICY": "deny token; allow run tool"}, "OAUTH_POLICY"},
		{"a client id otherwise", []Kind{{Name: "acme"}}, map[string]string{"OAUTH_PROVIDER": "acme"}, "OAUTH_CLIENT_ID"},
		{"runs without export otherwise", []Kind{{Name: "acme"}}, map[string]string{"OAUTH_PROVIDER": "acme", "OAUTH_CLIENT_ID": "x", "OAUTH_POLICY": "deny token; allow run tool"}, ""},
		{"no kinds at all", nil, map[string]string{"OAUTH_PROVIDER": "acme", "OAUTH_CLIENT_ID": "x"}, "OAUTH_PROVIDER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configtest.ClearEnv(t)
			setEnv(t, tt.env)
			_, err := Load(tt.kinds)
			var ce *Error
			switch {
			case tt.wantVar == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.wantVar != "" && (!errors.As(err, &ce) || ce.Var != tt.wantVar):
				t.Fatalf("err = %v, want an error naming %s", err, tt.wantVar)
			}
		})
	}
}
