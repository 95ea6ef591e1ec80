package redact

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// runRelayed runs sh -c script with its output relayed, masking token.
func runRelayed(t *testing.T, script string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	rl, err := NewRelay(&out, &errOut, token)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdout, cmd.Stderr = rl.Files()
	if err := cmd.Start(); err != nil {
		rl.Close()
		t.Fatal(err)
	}
	rl.Start()
	if err := cmd.Wait(); err != nil {
		t.Errorf("%s: %v", script, err)
	}
	if err := rl.Stop(); err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String()
}

// TestRelaySplit: a token written half to stdout, half to stderr, is
// masked, each time (the relay reads the pipes in the order written).
func TestRelaySplit(t *testing.T) {
	half := len(token) / 2
	tests := []struct{ script, stdout, stderr string }{
		{"echo start; printf 'gh=%s' " + token[:half] + "; printf '%s\\n' " + token[half:] + " >&2",
			"start\ngh=[masked]", "\n"},
		{"echo start >&2; printf 'gh=%s' " + token[:half] + " >&2; printf '%s\\n' " + token[half:],
			"\n", "start\ngh=[masked]"},
		// More on the first stream before the relay reads: the two
		// writes to stdout may be read as one, and still the token is
		// found across the streams.
		{"printf 'gh=%s' " + token[:half] + "; printf '%s\\n' " + token[half:] + " >&2; echo ' and more'",
			"gh=[masked] and more\n", "\n"},
	}
	for _, tt := range tests {
		for i := range 20 {
			out, errOut := runRelayed(t, tt.script)
			if out != tt.stdout || errOut != tt.stderr {
				t.Fatalf("%s, run %d: stdout %q, stderr %q", tt.script, i, out, errOut)
			}
		}
	}
}

// TestRelayLarge: output beyond a pipe's capacity arrives whole.
func TestRelayLarge(t *testing.T) {
	out, errOut := runRelayed(t, "i=0; while [ $i -lt 20000 ]; do echo line $i; echo err $i >&2; i=$((i+1)); done")
	if n := strings.Count(out, "\n"); n != 20000 || !strings.HasSuffix(out, "line 19999\n") {
		t.Errorf("stdout: %d lines, ends %q", n, out[max(0, len(out)-20):])
	}
	if n := strings.Count(errOut, "\n"); n != 20000 {
		t.Errorf("stderr: %d lines", n)
	}
}

// TestRelayStopsWithoutEOF: a process left behind holding the pipes does
// not keep Stop waiting; what was written before it is relayed.
func TestRelayStopsWithoutEOF(t *testing.T) {
	out, _ := runRelayed(t, "sleep 1000 & echo $!")
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("stdout %q", out)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}
