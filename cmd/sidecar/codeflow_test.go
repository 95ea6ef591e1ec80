package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/ptytest"
)

// codeLoginJSON runs `sidecar login --json --flow code` and hands the
// authorize event to person, who answers by writing to stdin (or not).
// It returns the events, the exit code and stderr.
func codeLoginJSON(t *testing.T, env []string, person func(ev cli.Event, stdin io.WriteCloser)) ([]cli.Event, int, string) {
	t.Helper()
	return runLoginJSON(t, env, []string{"--flow", "code"}, func(ev cli.Event, stdin io.WriteCloser) {
		if ev.Event == "authorize" {
			person(ev, stdin)
		}
	})
}

func codeEnv(t *testing.T, srv *oidctest.Server) []string {
	return oidcEnv(t, srv.Issuer, oidctest.NativeClientID)
}

// The terminal's code flow: the authorize event, the address pasted on
// stdin with words around it, then the sign-in works like any other: api,
// a refresh, status naming the flow, logout.
func TestCodeLoginStdin(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	env := codeEnv(t, srv)
	ctx := context.Background()
	events, code, stderr := codeLoginJSON(t, env, func(ev cli.Event, stdin io.WriteCloser) {
		addr, err := srv.FollowLink(ctx, ev.URL, oidctest.ApproveOptions{}, true)
		if err != nil {
			t.Error(err)
			return
		}
		io.WriteString(stdin, "here it is: "+addr+" \n")
	})
	if code != 0 || len(events) != 2 {
		t.Fatalf("login exit %d, events %+v, stderr %s", code, events, stderr)
	}
	a, done := events[0], events[1]
	if !strings.HasPrefix(a.URL, srv.Issuer+"/auth?") || !strings.HasPrefix(a.RedirectURI, "http://127.0.0.1:") ||
		a.ExpiresIn < 590 || a.ExpiresIn > 600 || strings.Contains(a.URL, "code_verifier") {
		t.Fatalf("authorize event %+v", a)
	}
	if done.Event != "signed_in" || done.Email != "alice@example.com" {
		t.Fatalf("signed_in event %+v", done)
	}
	st := sidecar(t, env, "status", "--json")
	var status struct{ Flow string }
	if st.code != 0 || json.Unmarshal([]byte(st.stdout), &status) != nil || status.Flow != "code" {
		t.Fatalf("status: %+v", st)
	}
	signedInWorks(t, env, "alice@example.com", func() int { return refreshes(t, srv) })
	if r := sidecar(t, env, "token"); r.code != exitcode.SignInRequired {
		t.Fatalf("token after logout: %+v", r)
	}
}

// The browser on this machine: it follows the redirect to the loopback
// listener, and the sign-in finishes with nothing pasted.
func TestCodeLoginLoopback(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	env := codeEnv(t, srv)
	events, code, stderr := codeLoginJSON(t, env, func(ev cli.Event, _ io.WriteCloser) {
		addr, err := srv.FollowLink(context.Background(), ev.URL, oidctest.ApproveOptions{}, true)
		if err != nil {
			t.Error(err)
			return
		}
		res, err := http.Get(addr)
		if err != nil {
			t.Error(err)
			return
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), "Sign-in received") || strings.Contains(string(page), "code=") {
			t.Errorf("loopback page: %d %s", res.StatusCode, page)
		}
	})
	if code != 0 || len(events) != 2 || events[1].Event != "signed_in" {
		t.Fatalf("login exit %d, events %+v, stderr %s", code, events, stderr)
	}
}

// Bad answers on stdin in --json mode, where one line is all there is.
func TestCodeLoginJSONRefusals(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	tests := []struct {
		name  string
		paste func(ev cli.Event) string
		code  int
		err   string
	}{
		{"malformed", func(cli.Event) string { return "I clicked allow" }, exitcode.Usage, "no sign-in address found"},
		{"wrong state", func(ev cli.Event) string { return ev.RedirectURI + "?code=abc&state=not-ours" }, exitcode.Usage, "state does not match"},
		{"declined", func(ev cli.Event) string {
			addr, err := srv.FollowLink(context.Background(), ev.URL, oidctest.ApproveOptions{}, false)
			if err != nil {
				t.Error(err)
			}
			return addr
		}, exitcode.Declined, "declined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			events, code, stderr := codeLoginJSON(t, codeEnv(t, srv), func(ev cli.Event, stdin io.WriteCloser) {
				io.WriteString(stdin, tt.paste(ev)+"\n")
			})
			last := events[len(events)-1]
			if code != tt.code || last.Event != "error" || last.Code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Fatalf("exit %d, events %+v, stderr %s", code, events, stderr)
			}
			if strings.Contains(stderr, "code=abc") {
				t.Fatal("the error repeats the paste")
			}
		})
	}
}

// signedInWorks checks a finished sign-in as the agent meets it: api /me
// answers as email; a token asked to live 2 hours more makes one refresh
// (refreshes counts the provider's refresh requests); logout.
func signedInWorks(t *testing.T, env []string, email string, refreshes func() int) {
	t.Helper()
	if r := sidecar(t, env, "api", "/me"); r.code != 0 || !strings.Contains(r.stdout, email) {
		t.Fatalf("api /me: %+v", r)
	}
	before := refreshes()
	if r := sidecar(t, env, "token", "--min-ttl", "2h"); r.code != 0 || refreshes() != before+1 {
		t.Fatalf("refresh: %+v", r)
	}
	if r := sidecar(t, env, "logout"); r.code != 0 {
		t.Fatalf("logout: %+v", r)
	}
}

func refreshes(t *testing.T, srv *oidctest.Server) int {
	t.Helper()
	st, err := srv.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.RefreshRequests
}

// A person at a terminal: the link and the prompt; a paste that does not
// count is explained and asked for again; the right one signs in.
func TestCodeLoginTerminal(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	cmd := exec.Command("sidecar", "login", "--flow", "code")
	cmd.Env = codeEnv(t, srv)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var addr string
	prompts := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "  "+srv.Issuer+"/auth?"):
			var err error
			if addr, err = srv.FollowLink(context.Background(), strings.TrimSpace(line), oidctest.ApproveOptions{}, true); err != nil {
				t.Fatal(err)
			}
		case line == pastePrompt:
			prompts++
			if prompts == 1 {
				io.WriteString(stdin, "it says connection refused\n")
			} else {
				io.WriteString(stdin, addr+"\n")
			}
		}
	}
	err := cmd.Wait()
	got := out.String()
	if err != nil || prompts != 2 || !strings.Contains(got, "no sign-in address found") || !strings.Contains(got, "Signed in as Alice Example") {
		t.Fatalf("exit %v, prompts %d; stdout:\n%s\nstderr: %s", err, prompts, got, errb.String())
	}
	if strings.Contains(got, "code=") && strings.Contains(got, addr) {
		t.Fatal("the pasted address is echoed")
	}
}

// On a terminal: the link, a QR code of it, the prompt; the address typed
// (pasted) at the prompt signs in.
func TestCodeLoginOnATerminal(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	cmd := exec.Command("sidecar", "login", "--flow", "code")
	cmd.Env = codeEnv(t, srv)
	term := ptytest.Start(t, cmd, 60, 200)
	linkRe := regexp.MustCompile(`(?m)^  (` + regexp.QuoteMeta(srv.Issuer) + `/auth\?\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	var link string
	for link == "" || !strings.Contains(term.String(), pastePrompt) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no link and prompt on the terminal:\n%s", term)
		}
		if m := linkRe.FindStringSubmatch(term.String()); m != nil {
			link = strings.TrimRight(m[1], "\r")
		}
		time.Sleep(20 * time.Millisecond)
	}
	addr, err := srv.FollowLink(context.Background(), link, oidctest.ApproveOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(term.Master, addr+"\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, term)
	}
	select {
	case <-term.Drained():
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal was not drained after login exited")
	}
	text := term.String()
	if !strings.Contains(text, "Or scan this with your phone:") || strings.Count(text, "█") < 50 {
		t.Errorf("no QR code on the terminal:\n%s", text)
	}
	if !strings.Contains(text, "Signed in as Alice Example (alice@example.com).") {
		t.Errorf("no confirmation:\n%s", text)
	}
}
