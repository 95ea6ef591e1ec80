package openclaw

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// The gateway's variables as compose.yaml passes them, all set.
func gatewayEnv() map[string]string {
	return map[string]string{
		"PATH":                   os.Getenv("PATH"),
		"TELEGRAM_BOT_TOKEN":     "777:agent-bot-token-AAAAAAAAAAAAAAAAAAAAAA",
		"TELEGRAM_OWNER_ID":      "4242",
		"OPENCLAW_GATEWAY_TOKEN": "gateway-token-value",
	}
}

func start(env map[string]string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command("sh", append([]string{"gateway-start.sh"}, args...)...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

func TestGatewayStart(t *testing.T) {
	secrets := gatewayEnv()
	tests := []struct {
		name    string
		set     map[string]string // over gatewayEnv
		want    []string          // in stderr, for a refusal
		notWant []string
	}{
		{name: "all set"},
		{
			name: "all three missing, all named",
			set:  map[string]string{"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_OWNER_ID": "", "OPENCLAW_GATEWAY_TOKEN": ""},
			want: []string{
				"gateway-start: error: OPENCLAW_TELEGRAM_BOT_TOKEN is not set: the token @BotFather gave the agent's bot",
				"gateway-start: error: TELEGRAM_OWNER_ID is not set: your Telegram user id",
				"gateway-start: error: OPENCLAW_GATEWAY_TOKEN is not set: the token that protects the gateway's port (make one with: openssl rand -hex 32)",
				"gateway-start: hint: set them in .env",
			},
		},
		{
			name:    "one missing, only it named",
			set:     map[string]string{"OPENCLAW_GATEWAY_TOKEN": ""},
			want:    []string{"OPENCLAW_GATEWAY_TOKEN is not set"},
			notWant: []string{"OPENCLAW_TELEGRAM_BOT_TOKEN", "TELEGRAM_OWNER_ID"},
		},
		{
			name: "owner id not a number",
			set:  map[string]string{"TELEGRAM_OWNER_ID": "@me"},
			want: []string{"TELEGRAM_OWNER_ID is not a Telegram user id (a positive number"},
			// Only names, never values.
			notWant: []string{"@me", "OPENCLAW_TELEGRAM_BOT_TOKEN"},
		},
		{name: "owner id zero", set: map[string]string{"TELEGRAM_OWNER_ID": "0"}, want: []string{"TELEGRAM_OWNER_ID is not a Telegram user id"}},
		{name: "owner id negative", set: map[string]string{"TELEGRAM_OWNER_ID": "-4242"}, want: []string{"TELEGRAM_OWNER_ID is not a Telegram user id"}},
		{
			name: "unset, not only empty",
			set:  map[string]string{"TELEGRAM_BOT_TOKEN": "\x00unset"},
			want: []string{"OPENCLAW_TELEGRAM_BOT_TOKEN is not set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := gatewayEnv()
			for k, v := range tt.set {
				if v == "\x00unset" {
					delete(env, k)
					continue
				}
				env[k] = v
			}
			check := func(stderr string) {
				t.Helper()
				for _, w := range tt.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("missing %q in stderr:\n%s", w, stderr)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(stderr, w) {
						t.Errorf("%q in stderr:\n%s", w, stderr)
					}
				}
				for _, k := range []string{"TELEGRAM_BOT_TOKEN", "OPENCLAW_GATEWAY_TOKEN"} {
					if strings.Contains(stderr, secrets[k]) {
						t.Errorf("the value of %s is in stderr:\n%s", k, stderr)
					}
				}
			}

			// Started as compose.yaml starts it: the command runs
			// only when everything is set, with its arguments intact.
			cmd, stdout, stderr := start(env, "--hold-on-error", "sh", "-c", `printf 'started %s|%s' "$1" "$TELEGRAM_OWNER_ID"`, "sh", "two words")
			if tt.want == nil {
				if err := cmd.Run(); err != nil || stdout.String() != "started two words|4242" || stderr.Len() != 0 {
					t.Fatalf("start: %v, stdout %q, stderr %q", err, stdout, stderr)
				}
			} else {
				holds(t, cmd, stderr)
				if strings.Contains(stdout.String(), "started") {
					t.Errorf("the command ran: %q", stdout)
				}
				check(stderr.String())
			}

			// The health check: the same verdict, nothing started.
			cmd, stdout, stderr = start(env, "--check")
			code := exitCode(t, cmd.Run())
			if want := map[bool]int{true: 0, false: 1}[tt.want == nil]; code != want || stdout.Len() != 0 {
				t.Fatalf("--check: exit %d, want %d; stdout %q", code, want, stdout)
			}
			check(stderr.String())

			// Without --hold-on-error a problem is exit 2.
			cmd, _, stderr = start(env, "true")
			if code := exitCode(t, cmd.Run()); code != map[bool]int{true: 0, false: 2}[tt.want == nil] {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}

	t.Run("no command", func(t *testing.T) {
		cmd, _, stderr := start(gatewayEnv())
		if code := exitCode(t, cmd.Run()); code != 2 || !strings.Contains(stderr.String(), "gateway-start: error: no command to start") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
}

// holds runs cmd, which must report and then hold rather than exit: once
// its last line is written it is stopped with SIGTERM, and it must die of
// that signal. A script that exited by itself (which a restart policy
// would turn into a restart loop) shows an exit status instead, whenever
// it happened.
func holds(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	buf := make([]byte, 1)
	for !bytes.HasSuffix(stderr.Bytes(), []byte("held until stopped\n")) {
		n, err := r.Read(buf)
		if err != nil { // EOF: the script ended without saying it holds
			break
		}
		stderr.Write(buf[:n])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	r.Close()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("wait: %v; stderr:\n%s", err, stderr)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("the script did not hold: %v; stderr:\n%s", err, stderr)
	}
}
