package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/clitest"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

func TestMain(m *testing.M) {
	testscript.Main(scanned{m}, map[string]func(){
		"tgauth": main,
	})
}

// TestScripts runs testdata/script/*.txtar: usage and configuration
// errors as a person meets them, without a provider or Telegram.
func TestScripts(t *testing.T) {
	clitest.Run(t, "testdata/script")
}

const chatID = 424242

// secrets collects every secret seen during the suite, and everything
// printed or sent, so TestZZNoSecretLeaked can look for one in the other.
var secrets = struct {
	sync.Mutex
	values []string
	seen   []string
}{}

func remember(kind string, values ...string) {
	secrets.Lock()
	defer secrets.Unlock()
	if kind == "secret" {
		for _, v := range values {
			if len(v) >= 8 {
				secrets.values = append(secrets.values, v)
			}
		}
		return
	}
	secrets.seen = append(secrets.seen, values...)
}

type rig struct {
	t    *testing.T
	idp  *oidctest.Server
	tg   *telegramtest.Server
	env  []string
	data string
	// longAfterFirst, when set, makes every code after the first live a
	// minute: see longCodesAfterFirst.
	longAfterFirst *atomic.Bool
}

// newRig starts the real provider (behind a proxy that records the device
// codes it hands out), the fake Bot API, and an environment for tgauth.
func newRig(t *testing.T, o oidctest.Options) *rig {
	t.Helper()
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	idp := oidctest.Start(t, o)
	tg := telegramtest.New(t)
	tg.AddChat(chatID)
	remember("secret", tg.Token())
	target, _ := url.Parse(idp.Issuer)
	proxy := httputil.NewSingleHostReverseProxy(target)
	longAfterFirst := new(atomic.Bool)
	proxy.ModifyResponse = func(res *http.Response) error {
		b, _ := io.ReadAll(res.Body)
		var da struct {
			DeviceCode string `json:"device_code"`
		}
		if json.Unmarshal(b, &da) == nil {
			remember("secret", da.DeviceCode)
		}
		if da.DeviceCode != "" && longAfterFirst.CompareAndSwap(true, false) {
			// Before tgauth has the first code, the provider issues
			// minute-long codes from now on.
			if err := idp.SetDeviceCodeTTL(context.Background(), time.Minute); err != nil {
				return err
			}
		}
		res.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	data := filepath.Join(t.TempDir(), "data")
	r := &rig{t: t, idp: idp, tg: tg, data: data, longAfterFirst: longAfterFirst, env: []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"XDG_DATA_HOME=" + data,
		"OAUTH_PROVIDER=oidc",
		"OAUTH_ISSUER=" + idp.Issuer,
		"OAUTH_DEVICE_AUTH_URL=" + ps.URL + "/device/auth",
		"OAUTH_CLIENT_ID=" + idp.PublicClientID,
		"OAUTH_SCOPES=openid profile email offline_access api:read",
		"SIDECAR_LOGIN_RESTARTS=1",
		"SIDECAR_HOSTNAME=myapp-sidecar-1",
		"TELEGRAM_API_URL=" + tg.URL(),
		"TELEGRAM_BOT_TOKEN=" + tg.Token(),
		"TELEGRAM_CHAT_ID=" + fmt.Sprint(chatID),
	}}
	t.Cleanup(func() { r.rememberChat() })
	return r
}

func (r *rig) rememberChat() {
	for _, m := range r.tg.Chat(chatID) {
		remember("seen", m.Text, m.Raw)
		for _, h := range m.History {
			remember("seen", h.Text, h.Raw)
		}
	}
	for _, c := range r.tg.Calls() {
		for _, v := range c.Params {
			remember("seen", v)
		}
	}
	// the tokens in the cache are secrets
	b, _ := os.ReadFile(filepath.Join(r.data, "devicegate", "default.token"))
	var e struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(b, &e)
	remember("secret", e.AccessToken, e.RefreshToken)
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

func (r *rig) start(args ...string) *proc {
	x := &proc{cmd: exec.Command("tgauth", args...), done: make(chan struct{})}
	x.cmd.Env = r.env
	x.cmd.Stdout, x.cmd.Stderr = &x.stdout, &x.stderr
	if err := x.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() {
		err := x.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			x.code = ee.ExitCode()
		}
		remember("seen", x.stdout.String(), x.stderr.String())
		close(x.done)
	}()
	return x
}

func (x *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-x.done:
	case <-time.After(60 * time.Second):
		x.cmd.Process.Kill()
		t.Fatalf("tgauth did not finish; stdout:\n%s\nstderr:\n%s", &x.stdout, &x.stderr)
	}
	return x.code
}

var codeRe = regexp.MustCompile(`Enter the code (\S+) \(tap it to copy\)`)

// codeInChat waits for the sign-in message to show a code other than
// avoid, and returns it, read the way the person reads it.
func (r *rig) codeInChat(avoid string) (string, telegramtest.Message) {
	r.t.Helper()
	var code string
	var msg telegramtest.Message
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.tg.WaitFor(ctx, func(v telegramtest.View) bool {
		for _, m := range v.Chat(chatID) {
			if c := codeRe.FindStringSubmatch(m.Text); c != nil && !m.Deleted && c[1] != avoid {
				code, msg = c[1], m
				return true
			}
		}
		return false
	})
	if err != nil {
		r.t.Fatalf("no code in the chat: %v; chat: %+v", err, r.tg.Chat(chatID))
	}
	return code, msg
}

// longCodesAfterFirst makes the codes the provider issues after the first
// live a minute: the first code of a test expires quickly, the fresh one
// must not expire before a busy machine has approved it. The switch is
// made as the first code passes the proxy, before tgauth sees it, so no
// test races the first code's lifetime. Call it before start.
func (r *rig) longCodesAfterFirst() { r.longAfterFirst.Store(true) }

func botMessages(ms []telegramtest.Message) (texts, photos []telegramtest.Message) {
	for _, m := range ms {
		switch {
		case !m.FromBot:
		case m.Photo != nil:
			photos = append(photos, m)
		default:
			texts = append(texts, m)
		}
	}
	return
}

func TestSignInThroughTelegram(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	x := r.start()
	code, msg := r.codeInChat("")
	for _, want := range []string{"Sign-in request", "OpenID account · profile default", "Started by you on myapp-sidecar-1", "Scopes: openid profile email offline_access api:read", "Expires in about 10 minutes"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("message lacks %q:\n%s", want, msg.Text)
		}
	}
	if len(msg.Buttons) != 1 || msg.Buttons[0][0].Text != "Open sign-in page" || !strings.Contains(msg.Buttons[0][0].URL, "/device?user_code="+code) {
		t.Errorf("buttons = %+v", msg.Buttons)
	}
	if err := r.idp.Approve(context.Background(), code, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := x.wait(t); c != 0 {
		t.Fatalf("exit %d\n%s\n%s", c, &x.stdout, &x.stderr)
	}
	texts, photos := botMessages(r.tg.Chat(chatID))
	if len(texts) != 1 {
		t.Fatalf("%d text messages, want exactly one", len(texts))
	}
	final := texts[0]
	if !strings.HasPrefix(final.Text, "✅ Signed in as Alice Example (alice@example.com)") || len(final.Buttons) != 0 || strings.Contains(final.Text, code) {
		t.Fatalf("final message:\n%s\nbuttons %v", final.Text, final.Buttons)
	}
	// oidc-provider gives verification_uri_complete: a QR code was sent,
	// and removed at the end.
	if len(photos) != 1 || !photos[0].Deleted {
		t.Fatalf("QR photos: %+v", photos)
	}
	out := x.stdout.String()
	if !strings.Contains(out, "tgauth: sent the sign-in link and code to Telegram") || !strings.Contains(out, "tgauth: signed in as Alice Example (alice@example.com)") {
		t.Fatalf("stdout:\n%s", out)
	}
	if strings.Contains(out, code) {
		t.Fatal("the text output shows the user code: it is for the person, in the chat")
	}

	// Run again: already signed in, said in the chat, no new sign-in.
	r.idp.ResetStats(context.Background())
	x = r.start()
	if c := x.wait(t); c != 0 || !strings.Contains(x.stdout.String(), "already signed in as Alice Example") {
		t.Fatalf("second run: exit %d %s %s", c, &x.stdout, &x.stderr)
	}
	last, _ := r.tg.Snapshot().Last(chatID)
	if !strings.HasPrefix(last.Text, "✅ Already signed in as Alice Example") {
		t.Fatalf("last message %q", last.Text)
	}
	if st, _ := r.idp.Stats(context.Background()); st.DeviceAuthorizations != 0 {
		t.Fatal("started a sign-in although signed in")
	}

	// --force signs in anew, here with --json events.
	x = r.start("--force", "--json")
	code2, _ := r.codeInChat(code)
	r.idp.Approve(context.Background(), code2, oidctest.ApproveOptions{})
	if c := x.wait(t); c != 0 {
		t.Fatalf("--force: exit %d %s", c, &x.stderr)
	}
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(x.stdout.String()), "\n") {
		var ev struct{ Event, UserCode string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		kinds = append(kinds, ev.Event)
	}
	if strings.Join(kinds, ",") != "code,signed_in" {
		t.Fatalf("events %v", kinds)
	}
}

func TestDeclineInTelegram(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	x := r.start()
	code, _ := r.codeInChat("")
	r.idp.Deny(context.Background(), code)
	if c := x.wait(t); c != exitcode.Declined {
		t.Fatalf("exit %d, want %d", c, exitcode.Declined)
	}
	last, _ := r.tg.Snapshot().Last(chatID)
	if !strings.HasPrefix(last.Text, "❌ Sign-in declined") || !strings.Contains(last.Text, "Send /auth when you want to allow it") || len(last.Buttons) != 0 {
		t.Fatalf("final message %q", last.Text)
	}
}

func TestExpiryGivesFreshCodeInSameMessage(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{DeviceCodeTTL: 3 * time.Second})
	r.longCodesAfterFirst()
	x := r.start()
	first, m1 := r.codeInChat("")
	second, m2 := r.codeInChat(first)
	if m1.ID != m2.ID {
		t.Fatal("the fresh code came in a new message, not the same one")
	}
	if !strings.Contains(m2.Text, "The previous code expired; this is a fresh one (1 of 1).") {
		t.Fatalf("message:\n%s", m2.Text)
	}
	r.idp.Approve(context.Background(), second, oidctest.ApproveOptions{})
	if c := x.wait(t); c != 0 {
		t.Fatalf("exit %d: %s", c, &x.stderr)
	}
	if !strings.Contains(x.stdout.String(), "the code expired; sent a fresh one (1 of 1)") {
		t.Fatalf("stdout %s", &x.stdout)
	}
}

func TestExpiredForGood(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{DeviceCodeTTL: 2 * time.Second})
	x := r.start()
	if c := x.wait(t); c != exitcode.TimedOut {
		t.Fatalf("exit %d, want %d", c, exitcode.TimedOut)
	}
	last, _ := r.tg.Snapshot().Last(chatID)
	if !strings.HasPrefix(last.Text, "⌛ Sign-in code expired") || !strings.Contains(last.Text, "Send /auth to start again.") {
		t.Fatalf("final %q", last.Text)
	}
	if _, photos := botMessages(r.tg.Chat(chatID)); photos[len(photos)-1].Deleted != true {
		t.Fatal("QR code left behind")
	}
}

func TestTelegram429InTheMiddle(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{DeviceCodeTTL: 8 * time.Second})
	// The edits meet 429 retry_after, a 502 and a dropped connection: the
	// fresh code and the final outcome must still arrive, once.
	r.tg.Inject("editMessageText", telegramtest.TooManyRequests(1), telegramtest.ServerError(502))
	r.tg.Inject("deleteMessage", telegramtest.DropConnection())
	r.longCodesAfterFirst()
	x := r.start()
	first, _ := r.codeInChat("")
	second, _ := r.codeInChat(first)
	r.idp.Approve(context.Background(), second, oidctest.ApproveOptions{})
	if c := x.wait(t); c != 0 {
		t.Fatalf("exit %d: %s", c, &x.stderr)
	}
	texts, _ := botMessages(r.tg.Chat(chatID))
	if len(texts) != 1 || !strings.HasPrefix(texts[0].Text, "✅ Signed in") {
		t.Fatalf("chat: %+v", texts)
	}
	faults := 0
	for _, c := range r.tg.Calls() {
		if c.Fault {
			faults++
		}
	}
	if faults != 3 {
		t.Fatalf("%d faults served, want 3", faults)
	}
}

func TestTelegramProblems(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	tests := []struct {
		name string
		env  []string
		code int
		want string
	}{
		{"wrong bot token", []string{"TELEGRAM_BOT_TOKEN=123456:wrong-token-value-AAAAAAAAAAAAAAA"}, exitcode.Telegram, "tgauth: error: TELEGRAM_BOT_TOKEN: telegram: getMe: 401 Unauthorized\ntgauth: hint: check the bot token with @BotFather\n"},
		{"no chat", []string{"TELEGRAM_CHAT_ID="}, exitcode.Usage, "TELEGRAM_CHAT_ID: is required"},
		{"no token", []string{"TELEGRAM_BOT_TOKEN="}, exitcode.Usage, "tgauth: error: TELEGRAM_BOT_TOKEN: is required (or TELEGRAM_BOT_TOKEN_FILE)\ntgauth: hint: use the digits:letters token @BotFather gave you"},
		{"unreachable", []string{"TELEGRAM_API_URL=http://127.0.0.1:1"}, exitcode.Telegram, "telegram"},
		{"unknown chat", []string{"TELEGRAM_CHAT_ID=777"}, exitcode.Telegram, "chat not found"},
		{"bad flag", []string{}, exitcode.Usage, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := *r
			rr.env = append(append([]string{}, r.env...), tt.env...)
			args := []string{}
			if tt.name == "bad flag" {
				args = []string{"--nope"}
			}
			x := rr.start(args...)
			if c := x.wait(t); c != tt.code || !strings.Contains(x.stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %s", c, &x.stderr)
			}
			if strings.Contains(x.stderr.String(), "wrong-token-value") || strings.Contains(x.stderr.String(), r.tg.Token()) {
				t.Fatal("bot token in the error")
			}
		})
	}
}

// scanned runs the tests, then scans everything printed and every message
// sent during the whole suite for a token, a device code or the bot token.
type scanned struct{ m *testing.M }

func (s scanned) Run() int {
	code := s.m.Run()
	if code != 0 {
		return code
	}
	secrets.Lock()
	defer secrets.Unlock()
	if !oidctest.Installed() && os.Getenv(oidctest.RequireEnv) == "" {
		fmt.Println("leak scan skipped: the provider-backed tests were skipped (run make deps to run them)")
		return code
	}
	if len(secrets.values) < 4 {
		fmt.Printf("FAIL: only %d secrets collected: the leak scan would prove nothing\n", len(secrets.values))
		return 1
	}
	for _, v := range secrets.values {
		for _, seen := range secrets.seen {
			if strings.Contains(seen, v) {
				fmt.Printf("FAIL: a secret (%d chars) appears in output or a message: %.80q\n", len(v), seen)
				code = 1
			}
		}
	}
	fmt.Printf("leak scan: %d secrets against %d outputs and messages\n", len(secrets.values), len(secrets.seen))
	return code
}

func TestTelegramFaultsOnTheFirstMessage(t *testing.T) {
	t.Parallel()
	t.Run("429 storm and a dropped connection", func(t *testing.T) {
		t.Parallel() // each has its own provider and Telegram
		r := newRig(t, oidctest.Options{})
		r.tg.Inject("sendMessage", telegramtest.TooManyRequests(1), telegramtest.TooManyRequests(1), telegramtest.DropConnection(), telegramtest.ServerError(500))
		x := r.start()
		code, _ := r.codeInChat("")
		r.idp.Approve(context.Background(), code, oidctest.ApproveOptions{})
		if c := x.wait(t); c != 0 {
			t.Fatalf("exit %d: %s", c, &x.stderr)
		}
		if texts, _ := botMessages(r.tg.Chat(chatID)); len(texts) != 1 {
			t.Fatalf("%d text messages: the retries duplicated it", len(texts))
		}
	})
	t.Run("outage", func(t *testing.T) {
		t.Parallel() // each has its own provider and Telegram
		r := newRig(t, oidctest.Options{})
		r.tg.AddChat(chatID)
		// getMe works, then Telegram goes down for good.
		r.tg.Inject("sendMessage", telegramtest.ServerError(502), telegramtest.ServerError(502), telegramtest.ServerError(502),
			telegramtest.ServerError(502), telegramtest.ServerError(502), telegramtest.ServerError(502))
		x := r.start()
		if c := x.wait(t); c != exitcode.Telegram || !strings.Contains(x.stderr.String(), "502") {
			t.Fatalf("exit %d: %s", c, &x.stderr)
		}
		if texts, _ := botMessages(r.tg.Chat(chatID)); len(texts) != 0 {
			t.Fatal("a message got through an outage")
		}
	})
	t.Run("token revoked mid-way", func(t *testing.T) {
		t.Parallel() // each has its own provider and Telegram
		r := newRig(t, oidctest.Options{})
		r.tg.Inject("sendMessage", telegramtest.Fault{Status: 401, Description: "Unauthorized"})
		x := r.start()
		if c := x.wait(t); c != exitcode.Telegram || !strings.Contains(x.stderr.String(), "401") {
			t.Fatalf("exit %d: %s", c, &x.stderr)
		}
	})
}
