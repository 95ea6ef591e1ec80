package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/local"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/configtest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

type coded struct{}

func (coded) Error() string { return "coded" }
func (coded) ExitCode() int { return 42 }

func TestCode(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitcode.OK},
		{base, exitcode.Failure},
		{Exit(exitcode.SignInRequired, base), exitcode.SignInRequired},
		{fmt.Errorf("wrapped: %w", Exit(exitcode.Telegram, base)), exitcode.Telegram},
		{Exit(exitcode.Provider, Exit(exitcode.Declined, base)), exitcode.Provider}, // the outermost code wins
		{fmt.Errorf("x: %w", coded{}), 42},
	}
	for _, tt := range tests {
		if got := Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if Exit(exitcode.Usage, nil) != nil {
		t.Error("Exit(code, nil) must stay nil")
	}
	if err := Exit(exitcode.Usage, base); !errors.Is(err, base) || err.Error() != "boom" {
		t.Error("With must wrap transparently")
	}
}

// Each outcome gets its code and the program's own advice.
func TestTable(t *testing.T) {
	sidecarTG := Sidecar
	sidecarTG.Telegram = true
	unreachable := &session.ProviderError{Profile: "work", Doing: "refreshing the token", Var: "OAUTH_WORK_ISSUER",
		Err: oauthhttp.Unreachable("https://idp.example.com/token", errors.New("connection refused"))}
	tests := []struct {
		name string
		p    Program
		err  error
		code int
		hint string
	}{
		{"sidecar usage", Sidecar, Usagef("bad"), exitcode.Usage, "run `sidecar help` for usage"},
		{"tgauth usage", Tgauth, Usagef("bad"), exitcode.Usage, "run `tgauth --help` for usage"},
		{"config", Sidecar, &config.Error{Var: "X", Msg: "bad"}, exitcode.Usage, "see .env.example"},
		{"malformed cache key", Sidecar, badKey(t), exitcode.Usage, "make a key with `sidecar keygen`"},
		{"no key to read", Sidecar, fmt.Errorf("x: %w", &session.KeyError{Profile: "work", Err: tokencache.ErrNeedKey}), exitcode.Usage,
			"set SIDECAR_CACHE_KEY (or SIDECAR_CACHE_KEY_FILE) to the key it was written with, or sign in again"},
		{"no key to write", Sidecar, fmt.Errorf("x: %w", tokencache.ErrNeedKey), exitcode.Usage,
			"set SIDECAR_CACHE_KEY (or SIDECAR_CACHE_KEY_FILE) to the key the encrypted caches were written with"},
		{"sign-in", Sidecar, &session.SignInError{Profile: "p", Reason: "r"}, exitcode.SignInRequired, "run `sidecar login --profile p` in a terminal to sign in again"},
		{"sign-in, Telegram", sidecarTG, &session.SignInError{Profile: "p", Reason: "r"}, exitcode.SignInRequired, "send /auth p to your Telegram bot (or run `tgauth --profile p`) to sign in again"},
		{"never signed in", Sidecar, &session.SignInError{Profile: "default", Reason: session.ReasonNotSignedIn}, exitcode.SignInRequired, "run `sidecar login` in a terminal to sign in\n"},
		{"never signed in, Telegram", sidecarTG, &session.SignInError{Profile: "default", Reason: session.ReasonNotSignedIn}, exitcode.SignInRequired, "send /auth to your Telegram bot (or run `tgauth`) to sign in\n"},
		{"discovery names a plain-http endpoint", Sidecar, &session.ProviderError{Profile: "work", Doing: "signing in", Err: &provider.EndpointError{
			URL: "https://idp.example/.well-known/openid-configuration", Err: errors.New("token_endpoint: refusing plain http:// to idp.example"),
			Override: [2]string{"OAUTH_WORK_DEVICE_AUTH_URL", "OAUTH_WORK_TOKEN_URL"}}},
			exitcode.Provider, "set OAUTH_WORK_DEVICE_AUTH_URL and OAUTH_WORK_TOKEN_URL to the provider's endpoints"},
		{"declined", Tgauth, fmt.Errorf("x: %w", deviceflow.ErrDeclined), exitcode.Declined, "send /auth to your Telegram bot (or run `tgauth`) again when you want to allow it"},
		{"declined, terminal", Sidecar, &session.LoginError{Profile: "gh", Err: deviceflow.ErrDeclined}, exitcode.Declined, "run `sidecar login --profile gh` in a terminal again when you want to allow it"},
		{"expired", Tgauth, fmt.Errorf("x: %w", deviceflow.ErrExpired), exitcode.TimedOut, "send /auth to your Telegram bot (or run `tgauth`) to get a new code"},
		{"expired, named profile", Tgauth, &session.LoginError{Profile: "gh", Err: deviceflow.ErrExpired}, exitcode.TimedOut, "send /auth gh to your Telegram bot (or run `tgauth --profile gh`) to get a new code"},
		{"timed out", Tgauth, fmt.Errorf("%w: %w", session.ErrTimedOut, context.DeadlineExceeded), exitcode.TimedOut, "send /auth to your Telegram bot (or run `tgauth`) to get a new code"},
		{"cancelled", Sidecar, &session.LoginError{Profile: "gh", Err: session.ErrCancelled}, exitcode.Cancelled, ""},
		{"telegram", Tgauth, &telegram.OpError{Op: "sending", Err: telegram.ErrUnreachable}, exitcode.Telegram, ""},
		{"no bot token", Tgauth, &config.Error{Var: "TELEGRAM_BOT_TOKEN", Msg: "is required"}, exitcode.Usage, botToken},
		{"bot token file", Tgauth, &config.Error{Var: "TELEGRAM_BOT_TOKEN_FILE", Msg: "cannot read /x"}, exitcode.Usage, botToken},
		{"malformed bot token", Tgauth, fmt.Errorf("x: %w", telegram.ErrMalformedToken), exitcode.Usage, botToken},
		{"refused bot token", Tgauth, &telegram.OpError{Err: fmt.Errorf("TELEGRAM_BOT_TOKEN: %w", telegram.ErrUnauthorized)}, exitcode.Telegram,
			"check the bot token with @BotFather"},
		{"unreachable", Sidecar, unreachable, exitcode.Provider, "check that idp.example.com is reachable from here (network, DNS, HTTPS_PROXY) and that OAUTH_WORK_ISSUER is right"},
		{"provider answer", Sidecar, &session.ProviderError{Err: &oauthhttp.Error{Status: 400, Code: "invalid_grant"}}, exitcode.Provider, ""},
		{"no such AWS role", Sidecar, &session.ProviderError{Profile: "aws", Var: "OAUTH_AWS_ROLE_NAME and OAUTH_AWS_ACCOUNT_ID",
			Err: fmt.Errorf("x: %w", session.ErrNoRole)}, exitcode.Provider,
			"check OAUTH_AWS_ROLE_NAME and OAUTH_AWS_ACCOUNT_ID: the role must be one assigned to the person who signs in, in that account"},
		{"unknown client", Sidecar, &session.ProviderError{Var: "OAUTH_CLIENT_ID", Err: &oauthhttp.Error{Status: 401, Code: "invalid_client"}}, exitcode.Provider,
			"check OAUTH_CLIENT_ID and the app registration at the provider"},
		{"unauthorized client", Sidecar, &oauthhttp.Error{Status: 400, Code: "unauthorized_client"}, exitcode.Provider, "check the client id and the app registration"},
		{"stale", Sidecar, &session.StaleError{Err: unreachable}, exitcode.Provider, "check that idp.example.com"},
		{"refused by policy", Sidecar, &policy.Refused{Action: "token", Reason: "policy", Rule: "deny token"}, exitcode.Refused, "do not retry"},
		{"refused by the owner", Sidecar, fmt.Errorf("x: %w", &policy.Refused{Action: "POST /x", Reason: "deny"}), exitcode.Refused, "do not retry"},
		{"rate limited", Sidecar, fmt.Errorf("gate: %w", audit.ErrRateLimited), exitcode.Refused, "slow down"},
		{"approvals off", Sidecar, &policy.Refused{Action: "token", Reason: "no_listener", Rule: "ask token"}, exitcode.Refused, "to be asked, the owner runs `sidecar approvals`"},
		{"account change not confirmed", Tgauth, &policy.Refused{Action: "signing in as m", Reason: "no_listener", Rule: gate.RuleAccountChange}, exitcode.Refused, "the profile keeps its current account"},
		{"other", Sidecar, errors.New("boom"), exitcode.Failure, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if code := tt.p.Report(&b, tt.err); code != tt.code {
				t.Errorf("code %d, want %d", code, tt.code)
			}
			out := b.String()
			if !strings.HasPrefix(out, tt.p.Name+": error: ") {
				t.Errorf("output %q", out)
			}
			hasHint := strings.Contains(out, tt.p.Name+": hint: ")
			if tt.hint == "" && hasHint || tt.hint != "" && !strings.Contains(out, tt.p.Name+": hint: "+tt.hint) {
				t.Errorf("output %q, want hint %q", out, tt.hint)
			}
		})
	}
	if msg := unreachable.Error(); strings.Count(msg, "idp.example.com") != 1 {
		t.Errorf("the host is named %d times: %s", strings.Count(msg, "idp.example.com"), msg)
	}
}

// The advice is in the table only: each row's hint lines, exactly, for
// errors built the way the domain packages build them, whose messages say
// what is wrong and no more.
func TestHints(t *testing.T) {
	store, err := tokencache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, malformed := telegram.New(context.Background(), telegram.Config{Token: "123456:not a token!"})
	seeEnv := "see .env.example for every variable and its format"
	tests := []struct {
		name  string
		p     Program
		err   error
		msg   string
		hints []string
	}{
		{"config", Sidecar, &config.Error{Var: "OAUTH_PROVIDER", Msg: "no account is configured"},
			"OAUTH_PROVIDER: no account is configured", []string{seeEnv}},
		{"no bot token", Tgauth, &config.Error{Var: "TELEGRAM_BOT_TOKEN", Msg: "is required (or TELEGRAM_BOT_TOKEN_FILE)"},
			"TELEGRAM_BOT_TOKEN: is required (or TELEGRAM_BOT_TOKEN_FILE)", []string{botToken, seeEnv}},
		{"bot token file", Tgauth, &config.Error{Var: "TELEGRAM_BOT_TOKEN_FILE", Msg: "cannot read /run/secrets/bot: no such file or directory"},
			"TELEGRAM_BOT_TOKEN_FILE: cannot read /run/secrets/bot: no such file or directory", []string{botToken, seeEnv}},
		{"malformed bot token", Tgauth, malformed,
			"telegram: bot token malformed: want digits, a colon, then letters", []string{botToken}},
		{"refused bot token", Tgauth, &telegram.OpError{Err: fmt.Errorf("TELEGRAM_BOT_TOKEN: %w", telegram.ErrUnauthorized)},
			"TELEGRAM_BOT_TOKEN: bot token refused", []string{"check the bot token with @BotFather"}},
		{"malformed cache key", Sidecar, badKey(t),
			"SIDECAR_CACHE_KEY: want 32 random bytes in base64 (44 characters)", []string{cacheKey, seeEnv}},
		{"no key to read", Sidecar, &session.KeyError{Profile: "work", Err: tokencache.ErrNeedKey},
			"profile work: the token cache is encrypted and no key is set",
			[]string{"set SIDECAR_CACHE_KEY (or SIDECAR_CACHE_KEY_FILE) to the key it was written with, or sign in again"}},
		{"no key to write", Sidecar, writeRefused(t, store),
			"the token cache is encrypted and no key is set: refusing to write work.token in plaintext next to encrypted caches",
			[]string{"set SIDECAR_CACHE_KEY (or SIDECAR_CACHE_KEY_FILE) to the key the encrypted caches were written with"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error")
			}
			var b strings.Builder
			tt.p.Report(&b, tt.err)
			want := tt.p.Name + ": error: " + tt.msg + "\n"
			for _, h := range tt.hints {
				want += tt.p.Name + ": hint: " + h + "\n"
			}
			if got := b.String(); got != want {
				t.Errorf("got\n%swant\n%s", got, want)
			}
			if strings.Contains(tt.msg, "@BotFather") || strings.Contains(tt.msg, "set SIDECAR") || strings.Contains(tt.msg, "keygen") || strings.Contains(tt.msg, "not a token") {
				t.Errorf("the message gives advice or echoes the token: %s", tt.msg)
			}
		})
	}
}

// badKey returns the error of a malformed SIDECAR_CACHE_KEY, from the
// code that reads it.
func badKey(t *testing.T) error {
	t.Helper()
	configtest.ClearEnv(t)
	t.Setenv("OAUTH_PROVIDER", "github")
	t.Setenv("OAUTH_CLIENT_ID", "Iv1.x")
	t.Setenv("SIDECAR_CACHE_KEY", "too-short")
	_, err := local.Load()
	return err
}

// writeRefused returns the error of a plaintext write next to an
// encrypted cache, from the cache itself.
func writeRefused(t *testing.T, plain *tokencache.Store) error {
	t.Helper()
	key, err := tokencache.ParseKey(tokencache.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tokencache.Open(plain.Dir(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Save(&tokencache.Entry{Profile: "home", AccessToken: "x"}); err != nil {
		t.Fatal(err)
	}
	return plain.Save(&tokencache.Entry{Profile: "work", AccessToken: "y"})
}

// A provider that refuses the device flow gets advice to use the code
// flow; other provider errors do not.
func TestDeviceFlowRefusedHint(t *testing.T) {
	perr := func(code, msg, op string) error {
		return &session.ProviderError{Profile: "work", Doing: "signing in", Err: &oauthhttp.Error{Op: op, Code: code, Msg: msg}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"github device flow off", perr("device_flow_disabled", "device_flow_disabled: Device Flow must be explicitly enabled for this App", "token"), true},
		{"google scope not on the device flow", perr("invalid_scope", "invalid_scope: Invalid device flow scope: https://www.googleapis.com/auth/gmail.readonly", "token"), true},
		{"entra conditional access", perr("access_denied", "access_denied: AADSTS53003: Access has been blocked by Conditional Access policies.", "token"), true},
		{"unknown client", perr("invalid_client", "invalid_client", "token"), false},
		{"code flow refused at the provider", perr("invalid_scope", "the provider refused the sign-in: invalid_scope", "authorize"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := Code(tt.err); c != exitcode.Provider {
				t.Errorf("exit %d, want %d", c, exitcode.Provider)
			}
			got := slices.Contains(Sidecar.Hints(tt.err), useCodeFlow)
			if got != tt.want {
				t.Errorf("hints %q: code-flow advice %v, want %v", Sidecar.Hints(tt.err), got, tt.want)
			}
		})
	}
	if !strings.Contains(useCodeFlow, "OAUTH_FLOW=code") || !strings.Contains(useCodeFlow, "When the device flow is blocked") {
		t.Error("the advice names neither the variable nor the README section")
	}
}
