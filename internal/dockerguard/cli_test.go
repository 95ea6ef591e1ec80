package dockerguard

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dockerCLI runs the real Docker CLI against the guard, or skips the test
// when there is none.
func (env *testEnv) dockerCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	dir := shortTempDir(t)
	cmd.Env = []string{
		"DOCKER_HOST=unix://" + env.sock,
		"DOCKER_CONFIG=" + dir,
		"HOME=" + dir,
		"DOCKER_CLI_HINTS=false",
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestDockerCLI(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		name           string
		stdin          string
		args           []string
		stdout, stderr string // substrings
		code           int
	}{
		{"exec", "", []string{"exec", "myapp-sidecar-1", "sidecar", "version"},
			"out: sidecar version\n", "err: sidecar version\n", 0},
		{"exec tgauth by ID prefix", "", []string{"exec", sidecarID[:12], "tgauth", "status"},
			"out: tgauth status\n", "err: tgauth status\n", 0},
		{"exec with stdin", "token-from-stdin\n", []string{"exec", "-i", "myapp-sidecar-1", "sidecar", "login"},
			"out: sidecar login\ntoken-from-stdin\nstdin closed\n", "err: sidecar login\n", 0},
		{"exec with tty", "", []string{"exec", "-t", "myapp-sidecar-1", "sidecar", "version"},
			"out: sidecar version\nerr: sidecar version\n", "", 0}, // one raw stream
		{"exec with env", "", []string{"exec", "-e", "LANG=C", "myapp-sidecar-1", "sidecar", "version"},
			"out: sidecar version\n", "", 0},
		{"exit code", "", []string{"exec", "myapp-sidecar-1", "sidecar", "status", "fail"},
			"out: sidecar status fail\n", "", 3},
		{"detached", "", []string{"exec", "-d", "myapp-sidecar-1", "sidecar", "version"}, "", "", 0},
		{"ps", "", []string{"ps", "-a", "--format", "{{.Names}}"}, "myapp-sidecar-1\n", "", 0},
		{"exec sh", "", []string{"exec", "myapp-sidecar-1", "sh"},
			"", `devicegate guard: command "sh" is not allowed; allowed: docker exec myapp-sidecar-1 sidecar token|run|api|status|login|logout|audit|version|help ..., tgauth ...`, 1},
		{"exec sidecar serve", "", []string{"exec", "myapp-sidecar-1", "sidecar", "serve"}, "", "sidecar serve is never allowed through the guard", 1},
		{"exec with the caller mark", "", []string{"exec", "-e", "DEVICEGATE_CALLER=owner", "myapp-sidecar-1", "sidecar", "token"}, "", "DEVICEGATE_CALLER is protected", 1},
		{"exec as root", "", []string{"exec", "-u", "root", "myapp-sidecar-1", "sidecar", "version"}, "", "as user", 1},
		{"exec privileged", "", []string{"exec", "--privileged", "myapp-sidecar-1", "sidecar", "version"}, "", "privileged exec", 1},
		{"exec protected env", "", []string{"exec", "-e", "OAUTH_TOKEN_URL=http://evil", "myapp-sidecar-1", "sidecar", "version"}, "", "OAUTH_TOKEN_URL is protected", 1},
		{"exec workdir", "", []string{"exec", "-w", "/tmp", "myapp-sidecar-1", "sidecar", "version"}, "", "working directory", 1},
		{"exec into the agent", "", []string{"exec", "myapp-openclaw-1", "sidecar", "version"}, "", "not the sidecar", 1},
		{"run", "", []string{"run", "--rm", "--privileged", "-v", "/:/host", "alpine", "true"}, "", "devicegate guard: endpoint POST /containers/create is not allowed", 125},
		{"cp", "", []string{"cp", "myapp-sidecar-1:/data", "-"}, "", "devicegate guard:", 1},
		{"images", "", []string{"images"}, "", "devicegate guard: endpoint GET /images/json is not allowed", 1},
		{"inspect shows no env", "", []string{"inspect", "--format", "{{.Config.Env}}", "myapp-sidecar-1"}, "[]\n", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.fake.requests())
			stdout, stderr, code := env.dockerCLI(t, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("docker %s: exit %d, stdout %q, stderr %q; want %d, %q, %q",
					strings.Join(tt.args, " "), code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
			if tt.code == 1 || tt.code == 125 {
				for _, r := range forwarded(env.fake.requests()[before:]) {
					if !strings.Contains(r, "_ping") && !strings.HasSuffix(r, sidecarID+"/json") {
						t.Errorf("upstream saw %q", r)
					}
				}
			}
		})
	}
	t.Logf("upstream requests:\n%s", strings.Join(env.fake.requests(), "\n"))
}
