package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/testing/awsssotest"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// tgauth --once: a one-off grant, and the chat says access ends on its own.
func TestOnceThroughTelegram(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	x := r.start("--once")
	code, msg := r.codeInChat("")
	if strings.Contains(msg.Text, "offline_access") {
		t.Errorf("a one-off sign-in asks for offline_access:\n%s", msg.Text)
	}
	if err := r.idp.Approve(context.Background(), code, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := x.wait(t); c != 0 {
		t.Fatalf("exit %d\n%s\n%s", c, &x.stdout, &x.stderr)
	}
	last, _ := r.tg.Snapshot().Last(chatID)
	if !strings.HasPrefix(last.Text, "✅ Signed in as Alice Example") || !strings.Contains(last.Text, "One-off grant: access ends at ") ||
		!strings.Contains(last.Text, "no refresh token is kept") {
		t.Fatalf("final message:\n%s", last.Text)
	}
	if !strings.Contains(x.stdout.String(), "; one-off grant, access ends at ") {
		t.Fatalf("stdout %s", &x.stdout)
	}
	b, _ := os.ReadFile(filepath.Join(r.data, "devicegate", "default.token"))
	var e struct {
		RefreshToken string `json:"refresh_token"`
		OneOff       bool   `json:"one_off"`
	}
	if json.Unmarshal(b, &e) != nil || e.RefreshToken != "" || !e.OneOff {
		t.Fatalf("cache: refresh token kept %v, one-off %v", e.RefreshToken != "", e.OneOff)
	}
}

// AWS through Telegram: the messages name AWS, the account and the role.
func TestAWSThroughTelegram(t *testing.T) {
	t.Parallel()
	fake := awsssotest.Start(t, awsssotest.Options{})
	tg := telegramtest.New(t)
	tg.AddChat(chatID)
	remember("secret", tg.Token())
	data := filepath.Join(t.TempDir(), "data")
	r := &rig{t: t, tg: tg, data: data, env: append(fake.ProfileEnv("OAUTH"),
		"PATH="+os.Getenv("PATH"),
		"HOME="+t.TempDir(),
		"XDG_DATA_HOME="+data,
		"SIDECAR_HOSTNAME=myapp-sidecar-1",
		"TELEGRAM_API_URL="+tg.URL(),
		"TELEGRAM_BOT_TOKEN="+tg.Token(),
		"TELEGRAM_CHAT_ID="+fmt.Sprint(chatID),
	)}
	t.Cleanup(func() {
		r.rememberChat()
		b, _ := os.ReadFile(filepath.Join(data, "devicegate", "default.token"))
		var e struct {
			AWS struct {
				ClientSecret string `json:"client_secret"`
				Credentials  struct {
					SecretAccessKey string `json:"secret_access_key"`
					SessionToken    string `json:"session_token"`
				} `json:"credentials"`
			} `json:"aws"`
		}
		json.Unmarshal(b, &e)
		remember("secret", e.AWS.ClientSecret, e.AWS.Credentials.SecretAccessKey, e.AWS.Credentials.SessionToken)
	})
	x := r.start()
	code, msg := r.codeInChat("")
	if !strings.Contains(msg.Text, "AWS account · profile default") || !strings.Contains(msg.Text, "Access: role ReadOnly in AWS account 123456789012") {
		t.Errorf("code message:\n%s", msg.Text)
	}
	if len(msg.Buttons) != 1 || !strings.HasPrefix(msg.Buttons[0][0].URL, fake.URL+"/device?user_code=") {
		t.Errorf("buttons %+v", msg.Buttons)
	}
	if err := fake.Approve(code); err != nil {
		t.Fatal(err)
	}
	if c := x.wait(t); c != 0 {
		t.Fatalf("exit %d\n%s\n%s", c, &x.stdout, &x.stderr)
	}
	last, _ := tg.Snapshot().Last(chatID)
	if !strings.HasPrefix(last.Text, "✅ Signed in as role ReadOnly in AWS account 123456789012") {
		t.Fatalf("final message:\n%s", last.Text)
	}
	if !strings.Contains(x.stdout.String(), "tgauth: signed in as role ReadOnly in AWS account 123456789012 (profile default, aws)") {
		t.Fatalf("stdout %s", &x.stdout)
	}
	// (Pending polls are proven in internal/session; here the chat may
	// take longer than the interval, so the first poll can already succeed.)
	if c := fake.Counts(); c.GetRoleCredentials != 1 {
		t.Fatalf("counts %+v", c)
	}
}
