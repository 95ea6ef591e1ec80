package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// engine is a Docker engine's socket as far as the guard's ping goes,
// open to everyone: doctor --guard run as root drops to nonroot first.
func engine(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir makes both 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			w.Write([]byte("OK"))
			return
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// deadSocket is a socket file nobody listens on.
func deadSocket(t *testing.T) string {
	sock := filepath.Join(t.TempDir(), "dead.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	return sock
}

// doctorEnv is a whole, healthy setup: the real provider, the fake
// Telegram with the owner's chat, a cache key, an engine for the guard, a
// gateway owned by the same person.
func doctorEnv(t *testing.T, srv *oidctest.Server, tg *telegramtest.Server) map[string]string {
	dir := t.TempDir()
	key := filepath.Join(dir, "cache_key")
	if err := os.WriteFile(key, []byte(tokencache.NewKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	botFile := filepath.Join(dir, "telegram_bot_token")
	if err := os.WriteFile(botFile, []byte(tg.Token()), 0o600); err != nil {
		t.Fatal(err)
	}
	tg.AddChat(4242)
	return map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"HOME":                        t.TempDir(),
		"XDG_DATA_HOME":               filepath.Join(dir, "data"),
		"OAUTH_PROVIDER":              "oidc",
		"OAUTH_ISSUER":                srv.Issuer,
		"OAUTH_CLIENT_ID":             srv.PublicClientID,
		"SIDECAR_CACHE_KEY_FILE":      key,
		"TELEGRAM_BOT_TOKEN_FILE":     botFile,
		"TELEGRAM_CHAT_ID":            "4242",
		"TELEGRAM_API_URL":            tg.URL(),
		"TELEGRAM_LISTEN":             "true",
		"GUARD_UPSTREAM":              engine(t),
		"OPENCLAW_TELEGRAM_BOT_TOKEN": "777:agent-bot-token-AAAAAAAAAAAAAAAAAAAAAA",
		"OPENCLAW_GATEWAY_TOKEN":      "gateway-token-value",
		"TELEGRAM_OWNER_ID":           "4242",
	}
}

func envList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func TestDoctor(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	tg := telegramtest.New(t)

	t.Run("healthy", func(t *testing.T) {
		env := doctorEnv(t, srv, tg)
		r := sidecar(t, envList(env), "doctor")
		if r.code != 0 || !strings.Contains(r.stdout, "No problems found.") || strings.Contains(r.stdout, "FAIL") {
			t.Fatalf("doctor on a healthy setup: %+v", r)
		}
		for _, want := range []string{
			"ok    configuration      valid; profiles: default",
			"ok    secret files       2 present and readable",
			"ok    cache key          set and valid",
			"ok    provider default   discovery at " + srv.Issuer,
			"ok    provider default   device flow: ",
			"ok    telegram           bot token accepted: @" + tg.Username(),
			"ok    telegram           chat 4242 reachable (private), nothing sent",
			"ok    guard              the engine answers a ping",
			"ok    gateway            owner id 4242",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("missing %q in:\n%s", want, r.stdout)
			}
		}
		if msgs := tg.Chat(4242); len(msgs) != 0 {
			t.Errorf("doctor sent %d messages to the chat", len(msgs))
		}
	})

	// Six different mistakes at once (the issue asks for five), all reported, each with its fix,
	// and what is fine still said so.
	t.Run("six mistakes at once", func(t *testing.T) {
		env := doctorEnv(t, srv, tg)
		empty := filepath.Join(t.TempDir(), "empty_key")
		os.WriteFile(empty, nil, 0o600)
		for k, v := range map[string]string{
			"SIDECAR_KEEPALIVE":      "5s",                // 1. an invalid variable
			"SIDECAR_PROFILES":       "work,gh",           //
			"OAUTH_WORK_PROVIDER":    "github",            // 2. a missing one (OAUTH_WORK_CLIENT_ID)
			"OAUTH_GH_PROVIDER":      "oidc",              //
			"OAUTH_GH_ISSUER":        srv.Issuer,          //
			"OAUTH_GH_CLIENT_ID":     "not-registered",    // 3. a client the provider does not know
			"SIDECAR_CACHE_KEY_FILE": empty,               // 4. an empty key file
			"TELEGRAM_CHAT_ID":       "5151",              // 5. a chat the bot cannot reach
			"TELEGRAM_OWNER_ID":      "5151",              //
			"GUARD_UPSTREAM":         deadSocket(t),       // 6. an engine that does not answer
			"OAUTH_CLIENT_SECRET":    "s3cr3t-client-val", // (must never be printed)
		} {
			env[k] = v
		}
		r := sidecar(t, envList(env), "doctor")
		if r.code != 2 {
			t.Fatalf("exit %d, want 2:\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		t.Logf("sidecar doctor:\n%s%s", r.stdout, r.stderr)
		for _, want := range []string{
			"FAIL  configuration      SIDECAR_KEEPALIVE: must be at least 1m, not 5s",
			"FAIL  configuration      OAUTH_WORK_CLIENT_ID: is required",
			"FAIL  cache key          SIDECAR_CACHE_KEY_FILE: no key",
			"fix: make a key with `sidecar keygen`",
			"FAIL  provider gh        ",
			"invalid_client",
			"fix: check OAUTH_GH_CLIENT_ID and the app registration at the provider",
			"FAIL  telegram           TELEGRAM_CHAT_ID 5151: the bot cannot reach that chat",
			"fix: send /start to @" + tg.Username() + " from that chat",
			"FAIL  guard              GUARD_UPSTREAM ",
			"connection refused",
			// What is fine is still said.
			"ok    provider default   device flow: ",
			"ok    telegram           bot token accepted",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("missing %q in:\n%s", want, r.stdout)
			}
		}
		if !strings.Contains(r.stderr, "sidecar: error: 6 problems found") {
			t.Errorf("stderr %q", r.stderr)
		}
		for _, secret := range []string{tg.Token(), "s3cr3t-client-val", env["OPENCLAW_TELEGRAM_BOT_TOKEN"], env["OPENCLAW_GATEWAY_TOKEN"]} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("a secret is in doctor's output:\n%s%s", r.stdout, r.stderr)
			}
		}
	})

	t.Run("gateway", func(t *testing.T) {
		env := doctorEnv(t, srv, tg)
		env["TELEGRAM_OWNER_ID"] = "99"
		env["OPENCLAW_TELEGRAM_BOT_TOKEN"] = tg.Token()
		r := sidecar(t, envList(env), "doctor")
		if r.code != 2 || !strings.Contains(r.stdout, "TELEGRAM_OWNER_ID: 99 is not TELEGRAM_CHAT_ID 4242") ||
			!strings.Contains(r.stdout, "OPENCLAW_TELEGRAM_BOT_TOKEN: is the gatekeeper bot's token") {
			t.Fatalf("%+v", r)
		}
	})

	// compose.yaml's gateway (DEVICEGATE_GATEWAY=compose, which
	// compose.yaml sets on the sidecar) with none of its variables in
	// .env: all three named in one run, each with its fix. Compose itself
	// no longer stops at the first (gateway-start names them too).
	t.Run("gateway variables all missing", func(t *testing.T) {
		env := doctorEnv(t, srv, tg)
		env["DEVICEGATE_GATEWAY"] = "compose"
		for _, k := range []string{"OPENCLAW_TELEGRAM_BOT_TOKEN", "TELEGRAM_OWNER_ID", "OPENCLAW_GATEWAY_TOKEN"} {
			delete(env, k)
		}
		r := sidecar(t, envList(env), "doctor")
		if r.code != 2 {
			t.Fatalf("exit %d, want 2:\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{
			"FAIL  gateway            TELEGRAM_OWNER_ID: is required by the gateway",
			"fix: set TELEGRAM_OWNER_ID in .env to your Telegram user id",
			"FAIL  gateway            OPENCLAW_TELEGRAM_BOT_TOKEN: is required: the agent's own bot",
			"fix: set it in .env to the token @BotFather gave the agent's bot",
			"FAIL  gateway            OPENCLAW_GATEWAY_TOKEN: is required",
			"fix: set it in .env, e.g. to the output of `openssl rand -hex 32`",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("missing %q in:\n%s", want, r.stdout)
			}
		}
		if strings.Count(r.stdout, "FAIL") != 3 || !strings.Contains(r.stderr, "sidecar: error: 3 problems found") {
			t.Errorf("want exactly the three gateway problems:\n%s%s", r.stdout, r.stderr)
		}

		// Without DEVICEGATE_GATEWAY nothing says a gateway is expected.
		delete(env, "DEVICEGATE_GATEWAY")
		if r := sidecar(t, envList(env), "doctor"); r.code != 0 || !strings.Contains(r.stdout, "skip  gateway            no OpenClaw gateway configured here") {
			t.Errorf("without %s: %+v", "DEVICEGATE_GATEWAY", r)
		}
		// An OpenClaw of one's own: not compose.yaml's variables.
		env["DEVICEGATE_GATEWAY"] = "external"
		if r := sidecar(t, envList(env), "doctor"); r.code != 0 || !strings.Contains(r.stdout, "skip  gateway            an OpenClaw of your own (DEVICEGATE_GATEWAY=external)") {
			t.Errorf("external: %+v", r)
		}
		env["DEVICEGATE_GATEWAY"] = "docker"
		if r := sidecar(t, envList(env), "doctor"); r.code != 2 || !strings.Contains(r.stdout, `FAIL  gateway            DEVICEGATE_GATEWAY: "docker" is neither compose`) {
			t.Errorf("a wrong value: %+v", r)
		}
	})

	t.Run("guard only", func(t *testing.T) {
		r := sidecar(t, []string{"PATH=" + os.Getenv("PATH"), "GUARD_UPSTREAM=" + engine(t)}, "doctor", "--guard")
		if r.code != 0 || !strings.Contains(r.stdout, "ok    guard") || strings.Contains(r.stdout, "provider") {
			t.Fatalf("%+v", r)
		}
		r = sidecar(t, []string{"PATH=" + os.Getenv("PATH"), "GUARD_UPSTREAM=/nonexistent/docker.sock"}, "doctor", "--guard")
		if r.code != 2 || !strings.Contains(r.stdout, "FAIL  guard") {
			t.Fatalf("%+v", r)
		}
	})
}

// A profile on the code flow gets its endpoints checked, and no device
// code is asked for.
func TestDoctorCodeFlow(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	tg := telegramtest.New(t)
	env := doctorEnv(t, srv, tg)
	env["OAUTH_FLOW"] = "code"
	r := sidecar(t, envList(env), "doctor")
	if r.code != 0 || !strings.Contains(r.stdout, "ok    provider default   code flow: authorization endpoint "+srv.Issuer) || strings.Contains(r.stdout, "device flow") {
		t.Fatalf("%+v", r)
	}
}
