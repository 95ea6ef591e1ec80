// Package doctor checks a whole devicegate setup at once, for `sidecar
// doctor`: every invalid or missing variable (not just the first, as a
// command meets them), the secret files, the cache key, each profile's
// provider with the flow it signs in with, the gatekeeper bot and its chat,
// the guard's access to the Docker engine, and the gateway's variables and
// owner id.
//
// Each check reports what it found fine or what is wrong; it never stops at
// a problem, and it changes nothing: the one request that leaves a trace is
// the device authorization of each profile (a code nobody enters, which
// the provider lets expire), because it is the only way to learn that the
// provider knows the client and allows it the device grant. Nothing secret
// is reported: errors name variables and files, never their values.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/preset"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Finding is one line of the report: something found fine (Err nil), a
// problem (Err), or a check that could not run here (Skipped).
type Finding struct {
	Area    string // "configuration", "cache key", "provider default", ...
	OK      string // what was found, when fine or skipped
	Err     error  // the problem
	Fix     string // what to do about Err; "" leaves the advice to the caller
	Skipped bool
}

// Options are what the checks need from outside.
type Options struct {
	// Getenv reads the variables that are not devicegate's own
	// configuration (GUARD_*, the gateway's OPENCLAW_*, DEVICEGATE_GATEWAY);
	// nil means os.Getenv.
	Getenv func(string) string
	// HTTP makes the provider requests.
	HTTP *http.Client
	// GuardOnly checks only the guard (`sidecar doctor --guard`, run in
	// the guard's container, which has no network).
	GuardOnly bool
}

// Run runs every check and returns the findings in order.
func Run(ctx context.Context, o Options) []Finding {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HTTP == nil {
		o.HTTP = http.DefaultClient
	}
	if o.GuardOnly {
		return checkGuard(ctx, true)
	}
	c, errs := config.LoadAll(preset.Kinds())
	var out []Finding
	for _, err := range errs {
		out = append(out, Finding{Area: "configuration", Err: err})
	}
	for _, name := range c.Order {
		if err := preset.Check(c.Profiles[name]); err != nil {
			out = append(out, Finding{Area: "configuration", Err: err})
			c.Order = without(c.Order, name)
		}
	}
	if len(errs) == 0 && len(out) == 0 {
		out = append(out, Finding{Area: "configuration", OK: fmt.Sprintf("valid; profiles: %s", orNone(c.Order))})
	}
	if len(c.Order) == 0 && !hasVar(errs, "OAUTH") {
		out = append(out, Finding{Area: "configuration", Err: &config.Error{Var: "OAUTH_PROVIDER", Msg: "no account is configured: set OAUTH_PROVIDER and OAUTH_CLIENT_ID"}})
	}
	out = append(out, checkSecretFiles(c, o.Getenv)...)
	out = append(out, checkCacheKey(c, errs))
	for _, name := range c.Order {
		out = append(out, checkProvider(ctx, c.Profiles[name], o.HTTP)...)
	}
	out = append(out, checkTelegram(ctx, c, errs)...)
	out = append(out, checkGuard(ctx, false)...)
	out = append(out, checkGateway(c, o.Getenv)...)
	return out
}

// Problems counts the findings that are problems.
func Problems(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Err != nil {
			n++
		}
	}
	return n
}

// checkSecretFiles looks at every *_FILE variable: config reports a file
// it cannot read; an empty one counts there as unset, which is right for
// an optional secret (a public client's) and wrong for the bot token the
// gatekeeper listens with.
func checkSecretFiles(c *config.Config, getenv func(string) string) []Finding {
	var out []Finding
	files := 0
	check := func(name, path string) (empty bool) {
		if path == "" {
			return false
		}
		fi, err := os.Stat(path)
		if err != nil {
			return false // config's error names it
		}
		files++
		return fi.Size() == 0 || strings.TrimSpace(readSmall(path)) == ""
	}
	if check("TELEGRAM_BOT_TOKEN_FILE", c.Telegram.BotTokenFile) && !(c.Telegram.ListenSet && !bool(c.Telegram.Listen)) {
		out = append(out, Finding{Area: "secret files",
			Err: &config.Error{Var: "TELEGRAM_BOT_TOKEN_FILE", Msg: c.Telegram.BotTokenFile + " is empty: devicegate's gatekeeper bot token goes there"},
			Fix: "put the token @BotFather gave the gatekeeper bot in it (printf '%s' 'DIGITS:LETTERS' > secrets/telegram_bot_token), or set TELEGRAM_LISTEN=false to run without Telegram"})
	}
	check("SIDECAR_CACHE_KEY_FILE", c.Sidecar.CacheKeyFile) // an empty key is the cache key check's
	for _, name := range append([]string{""}, c.Sidecar.Profiles...) {
		prefix := "OAUTH"
		if name = strings.TrimSpace(name); name != "" {
			prefix += "_" + strings.ToUpper(name)
		}
		check(prefix+"_CLIENT_SECRET_FILE", getenv(prefix+"_CLIENT_SECRET_FILE")) // empty: a public client
	}
	if len(out) == 0 && files > 0 {
		out = append(out, Finding{Area: "secret files", OK: fmt.Sprintf("%d present and readable", files)})
	}
	return out
}

func readSmall(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 1<<16 {
		return "x"
	}
	return string(b)
}

// checkCacheKey: set, and a key.
func checkCacheKey(c *config.Config, errs []error) Finding {
	name := "SIDECAR_CACHE_KEY"
	if c.Sidecar.CacheKeyFile != "" {
		name += "_FILE"
	}
	if hasVar(errs, name) {
		return Finding{Area: "cache key", OK: "see the configuration error above", Skipped: true}
	}
	raw, _ := c.Sidecar.CacheKeyValue()
	if raw == "" {
		return Finding{Area: "cache key",
			Err: &config.Error{Var: name, Msg: "no key: the token cache would be written unencrypted"},
			Fix: "make a key with `sidecar keygen` (or `sidecar keygen --out FILE` for SIDECAR_CACHE_KEY_FILE)"}
	}
	if _, err := tokencache.ParseKey(raw); err != nil {
		return Finding{Area: "cache key", Err: &config.Error{Var: name, Msg: err.Error()}}
	}
	return Finding{Area: "cache key", OK: "set and valid: the token cache is encrypted"}
}

// checkTelegram: the bot token accepted (getMe), the chat reachable
// without a message (getChat), and an owner for approvals.
func checkTelegram(ctx context.Context, c *config.Config, errs []error) []Finding {
	if hasVar(errs, "TELEGRAM_") {
		return []Finding{{Area: "telegram", OK: "see the configuration errors above", Skipped: true}}
	}
	tok, _ := c.Telegram.Token()
	tokenVar := "TELEGRAM_BOT_TOKEN"
	if c.Telegram.BotTokenFile != "" {
		tokenVar += "_FILE"
	}
	if tok == "" {
		if c.Telegram.ListenSet && bool(c.Telegram.Listen) && c.Telegram.BotTokenFile == "" {
			return []Finding{{Area: "telegram", Err: &config.Error{Var: "TELEGRAM_BOT_TOKEN", Msg: "is not set, but TELEGRAM_LISTEN=true needs devicegate's gatekeeper bot token (or set TELEGRAM_LISTEN=false)"}}}
		}
		return []Finding{{Area: "telegram", OK: "no bot token: no sign-in notices, commands or approvals in Telegram (sign in with `sidecar login`)", Skipped: true}}
	}
	var out []Finding
	tg, err := telegram.New(ctx, telegram.Config{Token: tok, APIURL: c.Telegram.ApiURL, MaxAttempts: 2})
	switch {
	case errors.Is(err, telegram.ErrMalformedToken):
		return append(out, Finding{Area: "telegram", Err: &config.Error{Var: tokenVar, Msg: "is malformed: want digits, a colon, then letters"}})
	case errors.Is(err, telegram.ErrUnauthorized):
		return append(out, Finding{Area: "telegram", Err: &telegram.OpError{Err: fmt.Errorf("%s: %w", tokenVar, err)},
			Fix: "check the gatekeeper bot's token with @BotFather (/mybots, API Token)"})
	case err != nil:
		return append(out, Finding{Area: "telegram", Err: &telegram.OpError{Err: err},
			Fix: "check that " + c.Telegram.ApiURL + " is reachable from here (network, DNS, HTTPS_PROXY)"})
	}
	out = append(out, Finding{Area: "telegram", OK: "bot token accepted: @" + tg.Username()})
	if c.Telegram.ChatID == 0 {
		return append(out, Finding{Area: "telegram", Err: &config.Error{Var: "TELEGRAM_CHAT_ID", Msg: "is required: the chat the gatekeeper bot writes to"},
			Fix: "send /start to @" + tg.Username() + ", then set TELEGRAM_CHAT_ID to your user id (@userinfobot tells it)"})
	}
	info, err := tg.GetChat(ctx, int64(c.Telegram.ChatID))
	if err != nil {
		return append(out, Finding{Area: "telegram",
			Err: fmt.Errorf("TELEGRAM_CHAT_ID %d: the bot cannot reach that chat: %w", int64(c.Telegram.ChatID), err),
			Fix: "send /start to @" + tg.Username() + " from that chat (a bot may only write to people who wrote to it first), and check TELEGRAM_CHAT_ID"})
	}
	out = append(out, Finding{Area: "telegram", OK: fmt.Sprintf("chat %d reachable (%s), nothing sent", info.ID, info.Type)})
	if bool(c.Telegram.Listen) && c.Telegram.Owner() == 0 {
		out = append(out, Finding{Area: "telegram", Err: &config.Error{Var: "TELEGRAM_OWNER_ID", Msg: "is not set and TELEGRAM_CHAT_ID is a group: nobody's taps count, so approvals are off"},
			Fix: "set TELEGRAM_OWNER_ID to your Telegram user id (@userinfobot tells it)"})
	}
	return out
}

// gatewayVar tells doctor which OpenClaw gateway the setup has. compose.yaml
// sets it on the sidecar: "compose" (its default) when compose.yaml's own
// openclaw-gateway runs, whose variables are then all required;
// "external" (set in .env) for an OpenClaw of your own, configured
// elsewhere. Unset (a sidecar outside compose.yaml), the gateway's
// variables are checked only when one of them is set.
const gatewayVar = "DEVICEGATE_GATEWAY"

// checkGateway: the OpenClaw gateway's variables (the ones compose.yaml
// passes it): every missing one named at once, as gateway-start would
// name them at its start, then the owner: a user id, the same person the
// gatekeeper answers, and a bot of its own.
func checkGateway(c *config.Config, getenv func(string) string) []Finding {
	agentBot := strings.TrimSpace(getenv("OPENCLAW_TELEGRAM_BOT_TOKEN"))
	owner := strings.TrimSpace(getenv("TELEGRAM_OWNER_ID"))
	var required bool
	switch mode := strings.TrimSpace(getenv(gatewayVar)); mode {
	case "compose":
		required = true
	case "external":
		return []Finding{{Area: "gateway", OK: "an OpenClaw of your own (" + gatewayVar + "=external): its configuration is not checked here", Skipped: true}}
	case "":
	default:
		return []Finding{{Area: "gateway", Err: &config.Error{Var: gatewayVar, Msg: fmt.Sprintf("%q is neither compose (compose.yaml's gateway) nor external (an OpenClaw of your own)", mode)}}}
	}
	if !required && agentBot == "" && getenv("OPENCLAW_GATEWAY_TOKEN") == "" {
		return []Finding{{Area: "gateway", OK: "no OpenClaw gateway configured here (OPENCLAW_TELEGRAM_BOT_TOKEN)", Skipped: true}}
	}
	var out []Finding
	id, err := strconv.ParseInt(owner, 10, 64)
	switch {
	case owner == "":
		out = append(out, Finding{Area: "gateway", Err: &config.Error{Var: "TELEGRAM_OWNER_ID", Msg: "is required by the gateway: the only Telegram user it answers"},
			Fix: "set TELEGRAM_OWNER_ID in .env to your Telegram user id (@userinfobot tells it)"})
	case err != nil || id <= 0:
		out = append(out, Finding{Area: "gateway", Err: &config.Error{Var: "TELEGRAM_OWNER_ID", Msg: fmt.Sprintf("%q is not a Telegram user id (a positive number)", owner)}})
	case c.Telegram.ChatID > 0 && int64(c.Telegram.ChatID) != id:
		out = append(out, Finding{Area: "gateway", Err: &config.Error{Var: "TELEGRAM_OWNER_ID", Msg: fmt.Sprintf("%d is not TELEGRAM_CHAT_ID %d: the gateway and the gatekeeper would answer different people", id, int64(c.Telegram.ChatID))},
			Fix: "in a private chat the chat id is the user id: use the same number for both"})
	default:
		out = append(out, Finding{Area: "gateway", OK: fmt.Sprintf("owner id %d", id)})
	}
	if agentBot == "" {
		out = append(out, Finding{Area: "gateway", Err: &config.Error{Var: "OPENCLAW_TELEGRAM_BOT_TOKEN", Msg: "is required: the agent's own bot"},
			Fix: "set it in .env to the token @BotFather gave the agent's bot, a second bot, not the gatekeeper's (README, Two bots); with an OpenClaw of your own instead, set " + gatewayVar + "=external"})
	} else if tok, _ := c.Telegram.Token(); tok != "" && tok == agentBot {
		out = append(out, Finding{Area: "gateway", Err: &config.Error{Var: "OPENCLAW_TELEGRAM_BOT_TOKEN", Msg: "is the gatekeeper bot's token: the agent could post as the gatekeeper and read the owner's answers"},
			Fix: "make a second bot with @BotFather for the agent (README, Two bots)"})
	}
	if getenv("OPENCLAW_GATEWAY_TOKEN") == "" {
		out = append(out, Finding{Area: "gateway", Err: &config.Error{Var: "OPENCLAW_GATEWAY_TOKEN", Msg: "is required: it protects the gateway's port"},
			Fix: "set it in .env, e.g. to the output of `openssl rand -hex 32`"})
	}
	return out
}

// hasVar reports whether an error names a variable containing part.
func hasVar(errs []error, part string) bool {
	for _, err := range errs {
		var ce *config.Error
		if errors.As(err, &ce) && strings.Contains(ce.Var, part) {
			return true
		}
	}
	return false
}

func without(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
