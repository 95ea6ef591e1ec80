package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/syncbuf"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// serve goes on without Telegram when the bot token is wrong, and its log
// line carries the advice a command prints as hint lines, never the token.
func TestServeBotTokenAdvice(t *testing.T) {
	t.Parallel()
	api := telegramtest.New(t)
	tests := []struct {
		name, env, hint string
	}{
		{"refused", "TELEGRAM_BOT_TOKEN=123456:wrong-token-value-AAAAAAAAAAAAAAA",
			`hint="check the bot token with @BotFather"`},
		{"malformed", "TELEGRAM_BOT_TOKEN=123456:not/a-token-value",
			`hint="use the digits:letters token @BotFather gave you, in TELEGRAM_BOT_TOKEN (or in the file TELEGRAM_BOT_TOKEN_FILE names); see .env.example for every variable and its format"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, logs := serveCmd(t, nil, "TELEGRAM_CHAT_ID=42", "TELEGRAM_API_URL="+api.URL(), tt.env)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			deadline := time.Now().Add(20 * time.Second)
			var line string
			for line == "" {
				for l := range strings.Lines(logs.String()) {
					if strings.Contains(l, "Telegram is unavailable") {
						line = l
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("no Telegram error in serve's log:\n%s", logs)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(line, tt.hint) {
				t.Errorf("log line %q, want %s", line, tt.hint)
			}
			_, token, _ := strings.Cut(tt.env, ":")
			if strings.Contains(logs.String(), token) {
				t.Errorf("the bot token is in serve's log:\n%s", logs)
			}
		})
	}
}

// serve --hold-on-error, as the compose files run it: a configuration
// error is reported once and serve stays up (its health check failing)
// until stopped, instead of exiting into a restart loop.
func TestServeHoldOnError(t *testing.T) {
	t.Parallel()
	cmd, logs := serveCmd(t, []string{"--hold-on-error"}, "TELEGRAM_LISTEN=true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), "not restarting"); {
		select {
		case err := <-done:
			t.Fatalf("serve ended (%v) instead of holding:\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error in serve's output:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// Exit 0 after the signal: had it exited on the error, it would be 2.
	if err := <-done; err != nil {
		t.Fatalf("serve after the signal: %v\n%s", err, logs)
	}
	want := "sidecar: error: TELEGRAM_BOT_TOKEN: is not set, but TELEGRAM_LISTEN=true"
	if n := strings.Count(logs.String(), want); n != 1 {
		t.Fatalf("the error is printed %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "sidecar: hint: not restarting: fix the configuration") {
		t.Fatalf("no hint:\n%s", logs)
	}
}

// serveCmd is `sidecar serve` with args, not started: fresh home and data
// directories, a GitHub profile and env; its stderr goes to logs.
func serveCmd(t *testing.T, args []string, env ...string) (cmd *exec.Cmd, logs *syncbuf.Buffer) {
	logs = &syncbuf.Buffer{}
	cmd = exec.Command("sidecar", append([]string{"serve"}, args...)...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"XDG_DATA_HOME=" + filepath.Join(t.TempDir(), "data"),
		"OAUTH_PROVIDER=github",
		"OAUTH_CLIENT_ID=Iv1.test",
	}, env...)
	cmd.Stderr = logs
	return cmd, logs
}
