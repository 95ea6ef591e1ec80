package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
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
		{"need key", Sidecar, fmt.Errorf("x: %w", tokencache.ErrNeedKey), exitcode.Usage, ""},
		{"sign-in", Sidecar, &session.SignInError{Profile: "p", Reason: "r"}, exitcode.SignInRequired, "send /auth"},
		{"declined", Tgauth, fmt.Errorf("x: %w", deviceflow.ErrDeclined), exitcode.Declined, "send /auth again"},
		{"expired", Tgauth, fmt.Errorf("x: %w", deviceflow.ErrExpired), exitcode.TimedOut, "send /auth (or run `tgauth`) to get a new code"},
		{"timed out", Tgauth, fmt.Errorf("%w: %w", session.ErrTimedOut, context.DeadlineExceeded), exitcode.TimedOut, "send /auth (or run `tgauth`) to get a new code"},
		{"telegram", Tgauth, &telegram.OpError{Op: "sending", Err: telegram.ErrUnreachable}, exitcode.Telegram, ""},
		{"unreachable", Sidecar, unreachable, exitcode.Provider, "check that idp.example.com is reachable from here (network, DNS, HTTPS_PROXY) and that OAUTH_WORK_ISSUER is right"},
		{"provider answer", Sidecar, &session.ProviderError{Err: &oauthhttp.Error{Status: 400, Code: "invalid_grant"}}, exitcode.Provider, ""},
		{"unknown client", Sidecar, &session.ProviderError{Var: "OAUTH_CLIENT_ID", Err: &oauthhttp.Error{Status: 401, Code: "invalid_client"}}, exitcode.Provider,
			"check OAUTH_CLIENT_ID and the app registration at the provider"},
		{"unauthorized client", Sidecar, &oauthhttp.Error{Status: 400, Code: "unauthorized_client"}, exitcode.Provider, "check the client id and the app registration"},
		{"stale", Sidecar, &session.StaleError{Err: unreachable}, exitcode.Provider, "check that idp.example.com"},
		{"refused by policy", Sidecar, &policy.Refused{Action: "token", Reason: "policy", Rule: "deny token"}, exitcode.Refused, "do not retry"},
		{"refused by the owner", Sidecar, fmt.Errorf("x: %w", &policy.Refused{Action: "POST /x", Reason: "deny"}), exitcode.Refused, "do not retry"},
		{"approvals off", Sidecar, &policy.Refused{Action: "token", Reason: "no_listener", Rule: "ask token"}, exitcode.Refused, "to be asked in Telegram"},
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
