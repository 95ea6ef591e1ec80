package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/handoff"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Program is one of the commands built on this package. Messages carry
// its name, and advice names its own way to get help.
type Program struct {
	Name string // "sidecar: error: ..."
	Help string // the command that prints usage
	// Telegram: the owner signs in through the gatekeeper bot, so advice
	// names /auth; otherwise it names the terminal command. BotFromEnv
	// decides it when the advice is given: a bot token is configured
	// (TELEGRAM_BOT_TOKEN, or a non-empty file TELEGRAM_BOT_TOKEN_FILE
	// names), as in the real stack and not in the demo.
	Telegram   bool
	BotFromEnv bool
}

// String is the program's name, as messages print it ("%s: warning: ...").
func (p Program) String() string { return p.Name }

// telegram reports whether advice should name /auth in Telegram.
func (p Program) telegram() bool {
	if p.Telegram || !p.BotFromEnv {
		return p.Telegram
	}
	if os.Getenv("TELEGRAM_BOT_TOKEN") != "" {
		return true
	}
	f := os.Getenv("TELEGRAM_BOT_TOKEN_FILE")
	if f == "" {
		return false
	}
	fi, err := os.Stat(f)
	return err == nil && fi.Size() > 0
}

// The programs.
var (
	Sidecar = Program{Name: "sidecar", Help: "sidecar help", BotFromEnv: true}
	Tgauth  = Program{Name: "tgauth", Help: "tgauth --help", Telegram: true}
)

// outcome is one row of the table: the errors it matches, the exit code
// (README "Exit codes"), and what to tell the person next.
type outcome struct {
	match func(error) bool
	code  int
	hints func(p Program, err error) []string
}

// outcomes is every way a command can fail, first match wins. The domain
// packages return sentinels and typed errors; this table alone decides
// what an agent (the exit code) and a person (the hint lines) are told.
var outcomes = []outcome{
	// A code decided by the command itself: `sidecar run`'s 127, `sidecar
	// api`'s failure on a non-2xx answer, an outcome rebuilt from the
	// detached refresh process.
	{match: isA[codedError], code: -1},
	{match: isA[*UsageError], code: exitcode.Usage, hints: usageHints},
	// The cache is encrypted and no key is set: reading it wants the key it
	// was written with; a write is refused rather than leave a plaintext
	// cache next to encrypted ones.
	{match: isA[*session.KeyError], code: exitcode.Usage,
		hints: always("set SIDECAR_CACHE_KEY (or SIDECAR_CACHE_KEY_FILE) to the key it was written with, or sign in again")},
	{match: is(tokencache.ErrNeedKey), code: exitcode.Usage,
		hints: always("set SIDECAR_CACHE_KEY (or SIDECAR_CACHE_KEY_FILE) to the key the encrypted caches were written with")},
	{match: isA[*config.Error], code: exitcode.Usage, hints: configHints},
	{match: is(session.ErrSignInRequired), code: exitcode.SignInRequired, hints: signIn},
	// A pasted address that does not finish the code-flow sign-in (read
	// from stdin in --json mode, where one line is all there is).
	{match: is(codeflow.ErrPaste), code: exitcode.Usage,
		hints: always("after you allow, copy the whole address your browser shows (it begins with the redirect address and holds code= and state=) and paste it as one line")},
	// tgauth's code flow needs serve, which reads the chat the address is
	// pasted into.
	{match: is(handoff.ErrNoServe), code: exitcode.Usage,
		hints: always("run `sidecar serve` with the gatekeeper bot listening (it reads the chat), or sign in at a terminal with `sidecar login --flow code`")},
	{match: is(deviceflow.ErrDeclined), code: exitcode.Declined, hints: declined},
	{match: is(deviceflow.ErrExpired), code: exitcode.TimedOut, hints: newCode},
	{match: is(session.ErrTimedOut), code: exitcode.TimedOut, hints: newCode},
	// Ctrl-C, or the client gone: the person stopped it, nothing to advise.
	{match: is(session.ErrCancelled), code: exitcode.Cancelled},
	// The bot token: one that cannot be a token is a configuration error,
	// found before any request; one Telegram refuses is Telegram's.
	{match: is(telegram.ErrMalformedToken), code: exitcode.Usage, hints: always(botToken)},
	{match: is(telegram.ErrUnauthorized), code: exitcode.Telegram,
		hints: always("check the bot token with @BotFather")},
	{match: isA[*telegram.OpError], code: exitcode.Telegram},
	// A request the agent may not make in any form (a method override, a
	// body on a GET): the command line is wrong, not the owner's answer.
	{match: is(gate.ErrBadRequest), code: exitcode.Usage},
	// The owner's policy or the owner said no: an agent must not retry.
	{match: is(policy.ErrRefused), code: exitcode.Refused, hints: refused},
	// The agent is over the rate limit (internal/audit): nothing was done.
	{match: is(audit.ErrRateLimited), code: exitcode.Refused,
		hints: always(fmt.Sprintf("slow down: the agent may do at most %d actions at once, then %d a minute; wait before the next one, and tell the owner what you were doing (the refusal is in the audit log)", audit.DefaultBurst, audit.DefaultRate))},
	// Tokens for other scopes (sidecar token|run|api --scope).
	{match: is(session.ErrNoScopedRefresh), code: exitcode.Usage,
		hints: always("sign in a profile with those scopes (SIDECAR_PROFILES and its OAUTH_<NAME>_SCOPES) and use --profile")},
	{match: is(session.ErrScopeRefused), code: exitcode.Provider,
		hints: always("ask only for scopes granted at sign-in (`sidecar status` lists them), or sign in again with the others added")},
	{match: is(session.ErrNoRole), code: exitcode.Provider, hints: noRole},
	{match: isA[*provider.EndpointError], code: exitcode.Provider, hints: overrideDiscovery},
	// The provider refuses the device flow itself: the code flow reaches
	// those accounts.
	{match: deviceFlowRefused, code: exitcode.Provider, hints: always(useCodeFlow)},
	{match: isA[*session.ProviderError], code: exitcode.Provider, hints: unreachable},
	{match: isA[*oauthhttp.Error], code: exitcode.Provider, hints: unreachable},
}

// Code returns the exit code for err: 0 for nil, the code of the first
// row of the table that matches, and 1 (an unexpected failure) otherwise.
func Code(err error) int {
	code, _ := classify(Sidecar, err)
	return code
}

func classify(p Program, err error) (int, []string) {
	if err == nil {
		return exitcode.OK, nil
	}
	for _, o := range outcomes {
		if !o.match(err) {
			continue
		}
		code := o.code
		if code < 0 {
			var c codedError
			errors.As(err, &c)
			code = c.ExitCode()
		}
		var hints []string
		if o.hints != nil {
			hints = o.hints(p, err)
		}
		return code, hints
	}
	return exitcode.Failure, nil
}

// usageHints suggests the command meant, if any, and where to read the
// usage: the subcommand's own when the mistake is in its flags.
func usageHints(p Program, err error) []string {
	var u *UsageError
	errors.As(err, &u)
	var h []string
	if u.Nearest != "" {
		h = append(h, "did you mean "+u.Nearest+"?")
	}
	help := p.Help
	if u.Cmd != "" {
		help += " " + u.Cmd
	}
	return append(h, "run `"+help+"` for usage")
}

// Report prints err in the house style, "prog: error: ..." and then any
// "prog: hint: ..." lines, and returns its exit code.
func (p Program) Report(stderr io.Writer, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitcode.OK
	}
	code, hints := classify(p, err)
	fmt.Fprintf(stderr, "%s: error: %s\n", p.Name, oneLine(err.Error()))
	for _, h := range hints {
		fmt.Fprintf(stderr, "%s: hint: %s\n", p.Name, h)
	}
	return code
}

// Hints tells the person what to do next about err.
func (p Program) Hints(err error) []string {
	_, h := classify(p, err)
	return h
}

// ExitError gives an error an exit code decided by the command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode implements Coder.
func (e *ExitError) ExitCode() int { return e.Code }

// Coder is an error that knows its exit code; the outermost one wins.
type Coder interface{ ExitCode() int }

type codedError interface {
	error
	Coder
}

// Exit wraps err so that it exits with code. A nil err stays nil.
func Exit(code int, err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func isA[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

func always(h ...string) func(Program, error) []string {
	return func(Program, error) []string { return h }
}

// refused advises on exit 8: never retry; tell the owner; and, when
// approvals are off, how the owner turns them on.
func refused(_ Program, err error) []string {
	h := []string{"do not retry: this was refused on purpose; tell the owner what you wanted to do and let them decide"}
	var r *policy.Refused
	if errors.As(err, &r) && r.Rule == gate.RuleAccountChange {
		// No rule allows a change of account: only the owner does.
		return append(h, "the profile keeps its current account; to use another one, the owner confirms it in Telegram (`sidecar serve` listening), or signs out and in again at a terminal")
	}
	if errors.As(err, &r) && r.Reason == "no_listener" {
		h = append(h, "to be asked, the owner runs `sidecar approvals` in the sidecar container, or `sidecar serve` with the gatekeeper bot listening (README \"Approvals\"), or allows it in OAUTH_POLICY / OAUTH_<NAME>_POLICY")
	}
	return h
}

// botToken says where a bot token comes from.
const botToken = "use the digits:letters token @BotFather gave you, in TELEGRAM_BOT_TOKEN (or in the file TELEGRAM_BOT_TOKEN_FILE names)"

// varHints says where the value of a variable comes from, advice that
// holds for any error about it (missing, malformed, both forms set, file
// unreadable): a config.Error names the variable and what is wrong with
// it, not what to do.
var varHints = map[string]string{
	"TELEGRAM_BOT_TOKEN":      botToken,
	"TELEGRAM_BOT_TOKEN_FILE": botToken,
	"SIDECAR_CACHE_KEY":       cacheKey,
	"SIDECAR_CACHE_KEY_FILE":  cacheKey,
}

const cacheKey = "make a key with `sidecar keygen` (or `sidecar keygen --out FILE` for SIDECAR_CACHE_KEY_FILE)"

// configHints advises on a configuration error: where the variable's
// value comes from, if that needs saying, then where every variable is
// described.
func configHints(_ Program, err error) []string {
	var h []string
	var ce *config.Error
	if errors.As(err, &ce) && varHints[ce.Var] != "" {
		h = append(h, varHints[ce.Var])
	}
	return append(h, "see .env.example for every variable and its format")
}

// overrideDiscovery advises on a discovery document that names an
// endpoint we refuse: the owner can name the endpoints instead.
func overrideDiscovery(_ Program, err error) []string {
	var ee *provider.EndpointError
	errors.As(err, &ee)
	return []string{fmt.Sprintf("set %s and %s to the provider's endpoints to use them instead of its discovery document", ee.Override[0], ee.Override[1])}
}

// noRole advises on an AWS role the signed-in person does not have.
func noRole(_ Program, err error) []string {
	v := "the role name and the account id"
	var pe *session.ProviderError
	if errors.As(err, &pe) && pe.Var != "" {
		v = pe.Var
	}
	return []string{"check " + v + ": the role must be one assigned to the person who signs in, in that account"}
}

// useCodeFlow is the advice when a provider refuses the device flow.
const useCodeFlow = "this provider refuses the device flow for this app or account: sign in with the authorization code flow instead, OAUTH_FLOW=code (OAUTH_<NAME>_FLOW for a named profile); README \"When the device flow is blocked\" says how to register the app"

// deviceFlowRefused matches the providers' ways of refusing the device
// flow: GitHub's device_flow_disabled (the app has it off), Google's
// invalid_scope (a scope not allowed on the device flow, such as Gmail's
// or Calendar's) and Entra's Conditional Access block (AADSTS53003).
func deviceFlowRefused(err error) bool {
	var oe *oauthhttp.Error
	if !errors.As(err, &oe) {
		return false
	}
	switch {
	case oe.Code == "device_flow_disabled", oe.Code == "invalid_scope" && oe.Op != "authorize":
		return true
	case strings.Contains(oe.Msg, "AADSTS53003"):
		return true
	}
	return false
}

// SignInWays says how the owner signs in profile, where p runs: /auth in
// Telegram when the gatekeeper bot is configured, else a terminal's
// `sidecar login`; with --profile NAME for any profile but the default.
func (p Program) SignInWays(profile string) string {
	flag, arg := "", ""
	if profile != "" && profile != config.DefaultProfile {
		flag, arg = " --profile "+profile, " "+profile
	}
	if p.telegram() {
		return "send /auth" + arg + " to your Telegram bot (or run `tgauth" + flag + "`)"
	}
	return "run `sidecar login" + flag + "` in a terminal"
}

// loginProfile is the profile an error is about, "" when it does not say.
func loginProfile(err error) string {
	var le *session.LoginError
	if errors.As(err, &le) {
		return le.Profile
	}
	var se *session.SignInError
	if errors.As(err, &se) {
		return se.Profile
	}
	return ""
}

// signIn advises on a sign-in that is required: "to sign in" for a profile
// never signed in, "to sign in again" otherwise.
func signIn(p Program, err error) []string {
	again := " again"
	var se *session.SignInError
	if errors.As(err, &se) && se.Reason == session.ReasonNotSignedIn {
		again = ""
	}
	return []string{p.SignInWays(loginProfile(err)) + " to sign in" + again}
}

func declined(p Program, err error) []string {
	return []string{p.SignInWays(loginProfile(err)) + " again when you want to allow it"}
}

func newCode(p Program, err error) []string {
	return []string{p.SignInWays(loginProfile(err)) + " to get a new code, and enter it before it expires"}
}

// unreachable advises on a provider that did not answer at all (the host
// is in the message once; say what to check), or that does not know the
// client.
func unreachable(_ Program, err error) []string {
	var oe *oauthhttp.Error
	if !errors.As(err, &oe) {
		return nil
	}
	if oe.Code == "invalid_client" || oe.Code == "unauthorized_client" {
		v := "the client id"
		var pe *session.ProviderError
		if errors.As(err, &pe) && pe.Var != "" {
			v = pe.Var
		}
		return []string{"check " + v + " and the app registration at the provider (a public client with the device grant)"}
	}
	if oe.Host == "" {
		return nil
	}
	h := "check that " + oe.Host + " is reachable from here (network, DNS, HTTPS_PROXY)"
	var pe *session.ProviderError
	if errors.As(err, &pe) && pe.Var != "" {
		h += " and that " + pe.Var + " is right"
	}
	return []string{h}
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
}
