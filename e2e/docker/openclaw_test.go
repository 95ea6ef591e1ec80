//go:build dockere2e && linux

package docker

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/openaitest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

const (
	gatewayName     = "myapp-openclaw-gateway-1"
	gatewayImage    = "devicegate/openclaw:e2e"
	openclawFile    = "e2e/docker/testdata/compose.openclaw.yaml"
	strangerID      = 777777
	modelID         = "scripted"
	gatewayToken    = "e2e0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
	gatewayStartup  = 4 * time.Minute
	chatTimeout     = 90 * time.Second
	emailQuestion   = "what is my email address?"
	apiCommand      = "docker exec myapp-sidecar-1 sidecar api /me"
	emailAnswerHead = "Your email address is "
)

// TestOpenClaw runs the whole stack as a user does: the gateway built from
// Dockerfile.openclaw (over the stand-in base images), with the shipped
// configuration, its Telegram channel on the fake Bot API and its model on
// a scripted test double, the sidecar on the real identity provider. The
// owner talks to it only through the chat.
func TestOpenClaw(t *testing.T) {
	s := newStack(t)
	s.tg.AddChat(strangerID)
	s.agentBot.AddChat(strangerID)
	model := openaitest.New(t, scriptedModel)
	s.files = []string{openclawFile}
	s.composeEnv = []string{
		// OpenClaw gets the agent's bot; the sidecar keeps the gatekeeper's.
		"OPENCLAW_TELEGRAM_BOT_TOKEN=" + s.agentBot.Token(),
		"TELEGRAM_OWNER_ID=" + strconv.Itoa(chatID),
		"TELEGRAM_API_URL=" + s.tg.URL(),
		"OPENCLAW_GATEWAY_TOKEN=" + gatewayToken,
		"OPENCLAW_MODEL=compat/" + modelID,
		"OPENAI_COMPAT_BASE_URL=" + model.URL(),
		"OPENAI_COMPAT_API_KEY=e2e-model-key",
		"OPENAI_COMPAT_MODEL=" + modelID,
	}
	o := &openclawRun{s: s, model: model}
	must := func(ok bool) {
		if !ok {
			t.FailNow()
		}
	}
	must(t.Run("build", o.build))
	t.Run("variables required", o.testVariablesRequired)
	must(t.Run("up", o.up))
	t.Run("phishing", o.testPhishing)
	t.Run("menu", o.testMenu)
	must(t.Run("auth", o.testAuth))
	t.Run("auth_status", o.testStatus)
	t.Run("stranger", o.testStranger)
	t.Run("no model turn for commands", o.testNoModel)
	t.Run("free-form request", o.testFreeForm)
	t.Run("logout", o.testLogout)
	t.Run("no secret leaked", o.testNoLeak)
	t.Run("without a model key", o.testNoModelKey)
	t.Run("bot api calls", o.testBotAPICalls)
	o.report(t)
}

type openclawRun struct {
	s     *stack
	model *openaitest.Server

	buildTime, startup, authToCode time.Duration
}

// scriptedModel answers a question about the owner's email address by
// running the account-api skill's command, and then with what the command
// printed; anything else gets a fixed line. It looks at the messages after
// the question (the gateway adds its own context after the person's words).
func scriptedModel(r openaitest.Request) openaitest.Reply {
	asked := -1
	for i, m := range r.Messages {
		if m.Role == "user" && strings.Contains(m.Content, emailQuestion) {
			asked = i
		}
	}
	if asked < 0 || !r.HasTool("exec") {
		return openaitest.Text("I can only answer questions about your email address.")
	}
	for _, m := range r.Messages[asked+1:] {
		if m.Role == "tool" {
			if e := emailRe.FindString(m.Content); e != "" {
				return openaitest.Text(emailAnswerHead + e + ".")
			}
			return openaitest.Text("The command printed no email address.")
		}
	}
	return openaitest.CallTool("exec", fmt.Sprintf(`{"command":%q}`, apiCommand))
}

var skillNameRe = regexp.MustCompile(`<name>([a-z0-9-]+)</name>`)

var emailRe = regexp.MustCompile(`[a-z]+@example\.com`)

// build builds both images as compose.yaml says: the sidecar from
// Dockerfile, the gateway from Dockerfile.openclaw over its base images.
func (o *openclawRun) build(t *testing.T) {
	start := time.Now()
	if r := o.s.compose(t, command{args: []string{"build", "sidecar", "openclaw-gateway"}, quiet: true}); r.code != 0 {
		t.Fatalf("compose build: %s", r)
	}
	o.buildTime = time.Since(start)
}

// testVariablesRequired: without TELEGRAM_OWNER_ID and
// OPENCLAW_GATEWAY_TOKEN, Compose still creates the gateway (with
// ${VAR:?} it stopped at the first one, and refused `run --rm sidecar
// doctor` too); gateway-start names both in the gateway's log, at once,
// and holds, so `up -d --wait` fails on its health check.
func (o *openclawRun) testVariablesRequired(t *testing.T) {
	saved := o.s.composeEnv
	o.s.composeEnv = append(slices.Clone(saved), "TELEGRAM_OWNER_ID=", "OPENCLAW_GATEWAY_TOKEN=")
	defer func() {
		o.s.compose(t, command{args: []string{"rm", "--force", "--stop", "openclaw-gateway"}, quiet: true})
		o.s.composeEnv = saved
	}()
	r := o.s.compose(t, command{args: []string{"up", "-d", "--wait", "--no-build", "--no-deps", "openclaw-gateway"}})
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "unhealthy") {
		t.Fatalf("compose up --wait without TELEGRAM_OWNER_ID and OPENCLAW_GATEWAY_TOKEN: %s", r)
	}
	logs := o.s.compose(t, command{args: []string{"logs", "--no-color", "openclaw-gateway"}, quiet: true})
	for _, want := range []string{
		"gateway-start: error: TELEGRAM_OWNER_ID is not set",
		"gateway-start: error: OPENCLAW_GATEWAY_TOKEN is not set",
		"gateway-start: not starting the gateway, and not restarting",
	} {
		if !strings.Contains(logs.stdout, want) {
			t.Errorf("missing %q in the gateway's log:\n%s%s", want, logs.stdout, logs.stderr)
		}
	}
	if strings.Contains(logs.stdout, "OPENCLAW_TELEGRAM_BOT_TOKEN") {
		t.Errorf("the gateway's log names a variable that is set:\n%s", logs.stdout)
	}
}

// up starts the whole stack and waits until the gateway long-polls the
// fake Bot API.
func (o *openclawRun) up(t *testing.T) {
	start := time.Now()
	if r := o.s.compose(t, command{args: []string{"up", "-d", "--no-build"}}); r.code != 0 {
		t.Fatalf("compose up: %s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), gatewayStartup)
	defer cancel()
	err := o.s.agentBot.WaitFor(ctx, func(v telegramtest.View) bool {
		return v.Polling && slices.ContainsFunc(v.Calls, func(c telegramtest.Call) bool { return c.Method == "setMyCommands" })
	})
	if err != nil {
		r := o.s.host(t, command{args: []string{"logs", gatewayName}, quiet: true})
		t.Fatalf("the gateway does not poll the Bot API after %s: %v\n%s%s", gatewayStartup, err, r.stdout, r.stderr)
	}
	o.startup = time.Since(start)
	t.Logf("the gateway polls after %s", o.startup)
}

// testMenu checks the bot's command menu: our commands, with the plugin's
// descriptions.
func (o *openclawRun) testMenu(t *testing.T) {
	cmds := o.s.agentBot.Commands("default")
	byName := map[string]string{}
	for _, c := range cmds {
		byName[c.Command] = c.Description
	}
	for _, want := range []string{"auth", "auth_status", "logout", "account_api"} {
		if _, ok := byName[want]; !ok {
			t.Errorf("the command menu has no /%s: %v", want, cmds)
		}
	}
	if d := byName["auth"]; !strings.Contains(d, "[profile]") {
		t.Errorf("/auth is described as %q, not by the plugin", d)
	}
}

// ownerSays sends text from the owner to the agent's bot and returns the
// index of the next message in that chat.
func (o *openclawRun) ownerSays(text string) int {
	n := len(o.s.agentBot.Chat(chatID))
	o.s.agentBot.PushUpdate(chatID, chatID, text)
	return n + 1
}

// waitChat waits until a message of the agent's bot from index from on
// matches re and returns it.
func (o *openclawRun) waitChat(t *testing.T, chat int64, from int, re *regexp.Regexp) telegramtest.Message {
	t.Helper()
	return o.waitBot(t, o.s.agentBot, chat, from, re)
}

// waitGate is waitChat for the gatekeeper bot (sign-in codes).
func (o *openclawRun) waitGate(t *testing.T, chat int64, from int, re *regexp.Regexp) telegramtest.Message {
	t.Helper()
	return o.waitBot(t, o.s.tg, chat, from, re)
}

func (o *openclawRun) waitBot(t *testing.T, bot *telegramtest.Server, chat int64, from int, re *regexp.Regexp) telegramtest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chatTimeout)
	defer cancel()
	var found telegramtest.Message
	err := bot.WaitFor(ctx, func(v telegramtest.View) bool {
		msgs := v.Chat(chat)
		for i := min(from, len(msgs)); i < len(msgs); i++ {
			if msgs[i].FromBot && re.MatchString(msgs[i].Text) {
				found = msgs[i]
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no message of @%s matching %q in chat %d after %s; chat: %s", bot.Username(), re, chat, chatTimeout, chatDump(bot.Chat(chat)))
	}
	return found
}

func chatDump(msgs []telegramtest.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		who := "owner"
		if m.FromBot {
			who = "bot"
		} else if m.FromID != chatID {
			who = strconv.FormatInt(m.FromID, 10)
		}
		fmt.Fprintf(&b, "\n  [%d %s] %q", m.ID, who, m.Text)
	}
	return b.String()
}

// codeMessages counts the sign-in messages (with a code) in a chat of the
// gatekeeper bot, which sends them.
func (o *openclawRun) codeMessages(chat int64) int {
	n := 0
	for _, m := range o.s.tg.Chat(chat) {
		o.s.remember(m.Text + "\n" + m.Raw)
		texts := []string{m.Text}
		for _, h := range m.History {
			texts = append(texts, h.Text)
		}
		if slices.ContainsFunc(texts, codeRe.MatchString) {
			n++
		}
	}
	return n
}

// testAuth: the owner sends /auth to the agent's bot, the plugin runs
// tgauth in the sidecar through the guard, the code comes from the
// gatekeeper bot, a second /auth while it runs starts nothing, the owner
// approves at the provider, and the chats say who is signed in.
func (o *openclawRun) testAuth(t *testing.T) {
	ctx := context.Background()
	if err := o.s.idp.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	from := o.ownerSays("/auth")
	code := o.waitGate(t, chatID, 0, codeRe)
	o.authToCode = time.Since(start)
	t.Logf("/auth to the code in the chat: %s", o.authToCode)
	userCode := codeRe.FindStringSubmatch(code.Text)[1]

	from = o.ownerSays("/auth")
	o.waitChat(t, chatID, from, regexp.MustCompile(`already running`))
	if n := o.codeMessages(chatID); n != 1 {
		t.Errorf("%d sign-in messages in the chat after a second /auth, want 1:%s", n, chatDump(o.s.tg.Chat(chatID)))
	}
	if n := len(o.s.agentBot.Chat(chatID)); n > 0 && slices.ContainsFunc(o.s.agentBot.Chat(chatID), func(m telegramtest.Message) bool { return codeRe.MatchString(m.Text) }) {
		t.Errorf("a sign-in code came from the agent's bot:%s", chatDump(o.s.agentBot.Chat(chatID)))
	}

	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := o.s.idp.Approve(actx, userCode, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	// tgauth turns its message into the confirmation; the plugin adds one
	// line when tgauth ends.
	o.waitGate(t, chatID, 0, regexp.MustCompile(`Signed in as .*Alice Example`))
	o.waitChat(t, chatID, from, regexp.MustCompile(`Sign-in finished: Alice Example \(alice@example\.com\) \(profile default\)`))
	st, err := o.s.idp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeviceAuthorizations != 1 {
		t.Errorf("the provider saw %d device authorizations, want 1 (the second /auth must start none)", st.DeviceAuthorizations)
	}
	r := o.s.inSidecar(t, "sidecar", "status", "--json")
	if st := parseStatus(t, r); st.State != "ok" || st.Account.Email != "alice@example.com" {
		t.Fatalf("status after /auth: %s", r)
	}
}

func (o *openclawRun) testStatus(t *testing.T) {
	from := o.ownerSays("/auth_status")
	m := o.waitChat(t, chatID, from, regexp.MustCompile(`default \(oidc\)`))
	for _, want := range []string{"Alice Example (alice@example.com)", "scopes: openid", "access token expires"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("/auth_status answered %q, without %q", m.Text, want)
		}
	}
}

// testStranger: someone who is not the owner sends /auth: no sign-in
// starts, no code is posted anywhere.
func (o *openclawRun) testStranger(t *testing.T) {
	ctx := context.Background()
	if err := o.s.idp.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	before := o.codeMessages(chatID)
	o.s.agentBot.PushUpdate(strangerID, strangerID, "/auth")
	// Wait until the gateway has taken the update, then give a sign-in
	// that would have started time to post its code.
	wctx, cancel := context.WithTimeout(ctx, chatTimeout)
	defer cancel()
	if err := o.s.agentBot.WaitFor(wctx, func(v telegramtest.View) bool { return v.PendingUpdates == 0 && v.Polling }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	if n := o.codeMessages(strangerID); n != 0 {
		t.Errorf("a code was posted to the stranger:%s", chatDump(o.s.tg.Chat(strangerID)))
	}
	if n := o.codeMessages(chatID); n != before {
		t.Errorf("the stranger's /auth posted a code to the owner's chat:%s", chatDump(o.s.tg.Chat(chatID)))
	}
	st, err := o.s.idp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeviceAuthorizations != 0 {
		t.Errorf("the stranger's /auth started %d sign-ins", st.DeviceAuthorizations)
	}
	for _, m := range o.s.agentBot.Chat(strangerID) {
		if m.FromBot {
			t.Logf("the stranger was told: %q", m.Text)
		}
	}
}

// testNoModel: /auth, the second /auth, /auth_status and the stranger's
// /auth took no model request at all.
func (o *openclawRun) testNoModel(t *testing.T) {
	if reqs := o.model.Requests(); len(reqs) != 0 {
		t.Errorf("the commands made %d requests to the model, want none; first: %s", len(reqs), reqs[0].Path)
	}
}

// testFreeForm: a question the model answers by running the account-api
// skill's command through the gateway's exec tool.
func (o *openclawRun) testFreeForm(t *testing.T) {
	from := o.ownerSays(emailQuestion)
	o.waitChat(t, chatID, from, regexp.MustCompile(regexp.QuoteMeta(emailAnswerHead+"alice@example.com")))
	reqs := o.model.Requests()
	var ranTool bool
	for _, r := range reqs {
		for _, m := range r.Messages {
			if m.Role == "tool" && strings.Contains(m.Content, `"email":"alice@example.com"`) {
				ranTool = true
			}
		}
	}
	if !ranTool {
		t.Errorf("no request to the model carried the output of %q", apiCommand)
	}
	if n := o.model.Completions(); n < 2 {
		t.Errorf("%d model requests, want the question and the tool's result", n)
	}
	// The skills the model was offered are ours, and only ours.
	if len(reqs) > 0 {
		sys := ""
		for _, m := range reqs[0].Messages {
			if m.Role == "system" || m.Role == "developer" {
				sys += m.Content
			}
		}
		var offered []string
		for _, m := range skillNameRe.FindAllStringSubmatch(sys, -1) {
			offered = append(offered, m[1])
		}
		slices.Sort(offered)
		if want := []string{"account-api", "auth", "auth-status"}; !slices.Equal(offered, want) {
			t.Errorf("the model was offered the skills %v, want %v", offered, want)
		}
	}
}

// testLogout: /logout asks for confirmation and does nothing; /logout
// confirm, once the owner allows it in the gatekeeper chat, revokes at the
// provider and forgets the sign-in.
func (o *openclawRun) testLogout(t *testing.T) {
	ctx := context.Background()
	if err := o.s.idp.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	completions := o.model.Completions()
	from := o.ownerSays("/logout")
	o.waitChat(t, chatID, from, regexp.MustCompile(`/logout confirm`))
	st, err := o.s.idp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Revocations != 0 {
		t.Fatalf("/logout without confirm revoked %d tokens", st.Revocations)
	}
	from = o.ownerSays("/logout confirm")
	// The plugin's `sidecar logout` comes through the guard as the agent:
	// the gatekeeper asks the owner first (policy logout, issue 17).
	if q := o.s.tapApproval(t, "Allow once"); !strings.Contains(q.Text, "Wants to sign this profile out") {
		t.Errorf("the logout question:\n%s", q.Text)
	}
	o.waitChat(t, chatID, from, regexp.MustCompile(`Signed out of profile default: the provider revoked the tokens`))
	if st, err = o.s.idp.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Revocations == 0 {
		t.Error("the provider saw no revocation")
	}
	r := o.s.inSidecar(t, "sidecar", "status", "--json")
	if st := parseStatus(t, r); r.code != 4 || st.State != "signin_required" {
		t.Errorf("status after /logout confirm: %s", r)
	}
	if n := o.model.Completions(); n != completions {
		t.Errorf("/logout made %d model requests", n-completions)
	}
}

// testNoLeak: the bot token, the gateway token and the model key appear in
// no chat message and no container log.
func (o *openclawRun) testNoLeak(t *testing.T) {
	var outs []string
	for _, name := range []string{sidecarName, guardName, gatewayName} {
		r := o.s.host(t, command{args: []string{"logs", name}, quiet: true})
		outs = append(outs, r.stdout, r.stderr)
		// The shipped configuration turns off the gateway's calls home.
		if name == gatewayName && strings.Contains(r.stdout+r.stderr, "remote model catalog refresh") {
			t.Error("the gateway tried to refresh its model catalog from the internet")
		}
	}
	for _, chat := range []int64{chatID, strangerID} {
		for _, bot := range []*telegramtest.Server{o.s.tg, o.s.agentBot} {
			for _, m := range bot.Chat(chat) {
				outs = append(outs, m.Text, m.Raw)
			}
		}
	}
	for _, secret := range []string{o.s.tg.Token(), o.s.agentBot.Token(), gatewayToken, "e2e-model-key"} {
		for _, out := range outs {
			if strings.Contains(out, secret) {
				t.Errorf("a secret (%d characters) appears in a log or the chat", len(secret))
				break
			}
		}
	}
}

// testNoModelKey recreates the gateway as .env.example leaves it (an
// openai/ model and no key), on the same state volume: it starts again,
// the commands still work, and a free-form message gets OpenClaw's error
// instead of an answer, with no request to a model.
func (o *openclawRun) testNoModelKey(t *testing.T) {
	saved := o.s.composeEnv
	o.s.composeEnv = append(slices.Clone(saved), "OPENCLAW_MODEL=openai/gpt-5.4-mini", "OPENAI_API_KEY=",
		"OPENAI_COMPAT_BASE_URL=", "OPENAI_COMPAT_API_KEY=", "OPENAI_COMPAT_MODEL=")
	defer func() { o.s.composeEnv = saved }()
	before := len(o.s.agentBot.Calls())
	if r := o.s.compose(t, command{args: []string{"up", "-d", "--no-build", "openclaw-gateway"}}); r.code != 0 {
		t.Fatalf("compose up: %s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), gatewayStartup)
	defer cancel()
	err := o.s.agentBot.WaitFor(ctx, func(v telegramtest.View) bool {
		// The new process calls getMe, then polls (its menu is already
		// set).
		if !v.Polling || len(v.Calls) <= before {
			return false
		}
		i := slices.IndexFunc(v.Calls[before:], func(c telegramtest.Call) bool { return c.Method == "getMe" })
		return i >= 0 && slices.ContainsFunc(v.Calls[before+i:], func(c telegramtest.Call) bool { return c.Method == "getUpdates" })
	})
	if err != nil {
		r := o.s.host(t, command{args: []string{"logs", "--tail", "40", gatewayName}, quiet: true})
		t.Fatalf("the recreated gateway does not poll: %v\n%s%s", err, r.stdout, r.stderr)
	}
	completions := o.model.Completions()
	from := o.ownerSays("/auth_status")
	o.waitChat(t, chatID, from, regexp.MustCompile(`default \(oidc\): not signed in`))
	from = o.ownerSays("hello")
	// What the README promises a free-form message gets without a key.
	m := o.waitChat(t, chatID, from, regexp.MustCompile(`.`))
	if !strings.Contains(m.Text, "Authentication failed") {
		t.Errorf("a free-form message without a model key got %q, not OpenClaw's \"Authentication failed\" notice", m.Text)
	}
	if n := o.model.Completions(); n != completions {
		t.Errorf("%d requests reached the scripted model", n-completions)
	}
}

// testPhishing: nothing the agent's container can do makes a message
// appear from the gatekeeper bot. The gateway holds only the agent's bot
// token; the gatekeeper's is in no variable, file or inspect answer the
// agent can reach; the guard refuses the ways to read or redirect it; and
// what the agent can send with its own token lands in its own chat only.
func (o *openclawRun) testPhishing(t *testing.T) {
	gate := o.s.tg.Token()
	// The gateway's environment and files: only the agent's token.
	env := o.s.host(t, command{args: []string{"exec", gatewayName, "env"}, quiet: true})
	if env.code != 0 {
		t.Fatalf("env in the gateway: %s", env)
	}
	if strings.Contains(env.stdout, gate) {
		t.Fatal("the gateway's environment holds the gatekeeper bot's token")
	}
	if !strings.Contains(env.stdout, "TELEGRAM_BOT_TOKEN="+o.s.agentBot.Token()) {
		t.Error("the gateway does not have the agent's bot token")
	}
	scan := o.s.host(t, command{args: []string{"exec", gatewayName, "node", "-e", scanFilesJS, gate}, quiet: true, secret: true})
	if scan.code != 0 || strings.TrimSpace(scan.stdout) != "scanned" {
		t.Fatalf("files in the gateway hold the gatekeeper bot's token, or the scan failed: %s", scan.stderr)
	}
	// Through the guard, as the agent: every way to read the sidecar's
	// secrets or to make the sidecar send elsewhere is refused or yields
	// nothing.
	attempts := []struct {
		name string
		args []string
	}{
		{"read the secret file", []string{"exec", sidecarName, "cat", "/run/secrets/telegram_bot_token"}},
		{"a shell", []string{"exec", sidecarName, "sh", "-c", "cat /run/secrets/telegram_bot_token"}},
		{"redirect the Bot API", []string{"exec", "-e", "TELEGRAM_API_URL=http://127.0.0.1:9/", sidecarName, "tgauth"}},
		{"another chat", []string{"exec", "-e", "TELEGRAM_CHAT_ID=" + strconv.Itoa(strangerID), sidecarName, "tgauth"}},
		{"the token from the environment", []string{"exec", "-e", "TELEGRAM_BOT_TOKEN_FILE=/dev/stdin", sidecarName, "tgauth"}},
		{"a copy of the secret by run", []string{"exec", sidecarName, "sidecar", "run", "--", "cat", "/run/secrets/telegram_bot_token"}},
	}
	for _, a := range attempts {
		r := o.s.agent(t, command{args: a.args, quiet: true})
		if r.code == 0 || strings.Contains(r.stdout+r.stderr, gate) || !strings.Contains(r.stderr, "devicegate guard: ") {
			t.Errorf("%s: not refused by the guard: %s", a.name, r)
		}
	}
	insp := o.s.agent(t, command{args: []string{"inspect", sidecarName}, quiet: true})
	if strings.Contains(insp.stdout+insp.stderr, gate) {
		t.Error("docker inspect of the sidecar shows the gatekeeper bot's token")
	}
	// What the agent can send, it sends as its own bot, in its own chat.
	before := len(o.s.tg.Chat(chatID))
	send := o.s.host(t, command{args: []string{"exec", gatewayName, "node", "-e",
		`fetch(process.env.TELEGRAM_API_URL + "/bot" + process.env.TELEGRAM_BOT_TOKEN + "/sendMessage", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify({chat_id: Number(process.env.TELEGRAM_OWNER_ID), text: "Sign in: code FAKE-CODE"})}).then(r => r.json()).then(j => console.log(j.ok))`}, quiet: true})
	if send.code != 0 || !strings.Contains(send.stdout, "true") {
		t.Fatalf("the agent's own send: %s", send)
	}
	if msgs := o.s.tg.Chat(chatID); len(msgs) != before {
		t.Fatalf("a message appeared from the gatekeeper bot: %s", chatDump(msgs[before:]))
	}
	if !slices.ContainsFunc(o.s.agentBot.Chat(chatID), func(m telegramtest.Message) bool { return strings.Contains(m.Text, "FAKE-CODE") }) {
		t.Error("the agent's message is not in the agent's chat")
	}
}

// scanFilesJS looks for argv[1] in every readable file under the
// gateway's directories (node is the one program the image surely has) and
// prints the paths that hold it, or "scanned".
const scanFilesJS = `
const fs = require("fs"), path = require("path"), needle = process.argv[1];
const hits = [];
function walk(d) {
  let ents; try { ents = fs.readdirSync(d, {withFileTypes: true}); } catch { return; }
  for (const e of ents) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) { if (!["node_modules", "proc", "sys"].includes(e.name)) walk(p); continue; }
    if (!e.isFile()) continue;
    try { if (fs.statSync(p).size < (4 << 20) && fs.readFileSync(p).includes(needle)) hits.push(p); } catch {}
  }
}
for (const d of ["/home/node", "/opt", "/run", "/etc", "/tmp"]) walk(d);
process.stdout.write(hits.length ? hits.join("\n") : "scanned");
`

// testBotAPICalls: the fake Bot API knew every method the gateway and
// tgauth called (an unknown method is 404, as on Telegram), and nothing
// was refused as malformed.
func (o *openclawRun) testBotAPICalls(t *testing.T) {
	for _, bot := range []*telegramtest.Server{o.s.agentBot, o.s.tg} {
		count := map[string]int{}
		for _, c := range bot.Calls() {
			count[c.Method]++
			if c.Status == 404 || c.Status == 400 {
				t.Errorf("@%s: %s: %d %s", bot.Username(), c.Method, c.Status, c.Description)
			}
		}
		t.Logf("Bot API calls of @%s by method: %v", bot.Username(), count)
	}
}

func (o *openclawRun) report(t *testing.T) {
	r := o.s.host(t, command{args: []string{"image", "inspect", "-f", "{{.Size}}", gatewayImage}, quiet: true})
	t.Logf("OpenClaw suite: build %s (sidecar and gateway images), up to polling %s, /auth to code %s; gateway image %s bytes",
		o.buildTime.Round(time.Second), o.startup.Round(time.Second), o.authToCode.Round(time.Millisecond), strings.TrimSpace(r.stdout))
}
