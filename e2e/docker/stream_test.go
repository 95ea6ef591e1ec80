//go:build dockere2e && linux

package docker

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/ptytest"
)

// formAPI posts standard input to the provider's userinfo endpoint as a
// form. The provider reads the form, so what it answers shows that the
// bytes crossed the guard's hijacked stream.
var formAPI = []string{"sidecar", "api", "-H", "Content-Type: application/x-www-form-urlencoded", "-d", "@-", "/me"}

func (s *stack) testStreams(t *testing.T) {
	t.Run("stdin", func(t *testing.T) {
		r := s.agent(t, command{
			args:  append([]string{"exec", "-i", sidecarName}, formAPI...),
			stdin: strings.NewReader("e2e=stdin"),
		})
		if r.code != 0 || !strings.Contains(r.stdout, `"email":"alice@example.com"`) {
			t.Fatalf("api with a body from stdin: %s", r)
		}
	})
	t.Run("stdin reaches the provider", func(t *testing.T) {
		// A second access token in the body, besides the header sidecar
		// sends, is an error only the provider can report.
		r := s.agent(t, command{
			args:  append([]string{"exec", "-i", sidecarName}, formAPI...),
			stdin: strings.NewReader("access_token=not-a-token"),
		})
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "invalid_request") {
			t.Fatalf("api with an access token in the body: %s", r)
		}
	})
	t.Run("tty", s.testTTY)
}

// testTTY runs `docker exec -it` on a real terminal: the CLI sets it to raw
// mode, resizes the exec and copies both ways; the sidecar reads what is
// typed from its own terminal, where ^D at the start of a line ends input.
func (s *stack) testTTY(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"exec", "-it", sidecarName}, formAPI...)
	cmd := exec.CommandContext(ctx, s.docker, args...)
	cmd.Env = append(s.agentEnv(), "TERM=xterm")
	term := ptytest.Start(t, cmd, 24, 80)
	ptytest.WaitRaw(t, term.Master, 30*time.Second)
	if _, err := io.WriteString(term.Master, "e2e=tty\r\x04"); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	select {
	case <-term.Drained():
	case <-time.After(5 * time.Second):
	}
	got := term.String()
	s.remember(got)
	t.Logf("$ %s (on a terminal)\n%s", strings.Join(args, " "), got)
	if err != nil || !strings.Contains(got, "e2e=tty") || !strings.Contains(got, `"email":"alice@example.com"`) {
		t.Fatalf("docker exec -it: %v\n%q", err, got)
	}
}
