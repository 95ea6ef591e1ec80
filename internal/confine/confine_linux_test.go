package confine

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The test binary plays the confined child: with CONFINE_TEST_HIDE set it
// hides those paths (colon separated) and execs the rest of its arguments.
func TestMain(m *testing.M) {
	if hide, ok := os.LookupEnv("CONFINE_TEST_HIDE"); ok {
		argv := os.Args[1:]
		path, err := exec.LookPath(argv[0])
		if err == nil {
			// Without CONFINE_TEST_HIDE, so that the test binary, run
			// again, plays another part.
			env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CONFINE_TEST_HIDE=") })
			err = Exec(strings.Split(hide, ":"), path, argv, env, func(err error) {
				os.Stderr.WriteString("warning: " + err.Error() + "\n")
			})
		}
		os.Stderr.WriteString("exec: " + err.Error() + "\n")
		os.Exit(111)
	}
	// CONFINE_TEST_DIAL: connect to that unix socket (@ for an abstract
	// one), as a confined tool would.
	if addr, ok := os.LookupEnv("CONFINE_TEST_DIAL"); ok {
		c, err := net.Dial("unix", addr)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		c.Close()
		os.Stdout.WriteString("connected\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func landlockOrSkip(t *testing.T) {
	t.Helper()
	if err := probe(); err != nil {
		t.Skipf("no Landlock here: %v", err)
	}
}

func TestExecHides(t *testing.T) {
	landlockOrSkip(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "data", "devicegate")
	secrets := filepath.Join(dir, "run", "secrets")
	for _, d := range []string{cache, secrets, filepath.Join(dir, "data", "gh")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(cache, "default.token"):      "refresh-token-xyz",
		filepath.Join(secrets, "cache_key"):        "cache-key-xyz",
		filepath.Join(secrets, "public"):           "public-ok",
		filepath.Join(dir, "data", "gh", "config"): "gh-config-ok",
	}
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(cache, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	hide := cache + ":" + filepath.Join(secrets, "cache_key") + ":" + filepath.Join(dir, "nonexistent")

	tests := []struct {
		name, script, want string // want: in the combined output
		ok                 bool
	}{
		{"read a hidden file", "cat " + cache + "/default.token", "Permission denied", false},
		{"list a hidden directory, which shows names only", "ls " + cache, "default.token", true},
		{"read a hidden file through a link", "cat " + dir + "/link/default.token", "Permission denied", false},
		{"read a hidden secret", "cat " + secrets + "/cache_key", "Permission denied", false},
		{"replace a hidden file", "echo x > " + cache + "/default.token", "Permission denied", false},
		{"remove a hidden file", "rm -f " + secrets + "/cache_key", "Permission denied", false},
		{"truncate a hidden file", "truncate -s 0 " + cache + "/default.token", "Permission denied", false},
		{"read a neighbour of a hidden file", "cat " + secrets + "/public", "public-ok", true},
		{"read a neighbour of a hidden directory", "cat " + dir + "/data/gh/config", "gh-config-ok", true},
		{"create a file beside a hidden directory", "touch " + dir + "/data/new", "Permission denied", false},
		{"write elsewhere", "echo hi > " + dir + "/data/gh/new && cat " + dir + "/data/gh/new", "hi", true},
		{"run programs", "ls / >/dev/null && echo ran", "ran", true},
		{"children inherit", "sh -c 'cat " + secrets + "/cache_key'", "Permission denied", false},
	}
	if os.Geteuid() != 0 {
		// With CAP_SYS_PTRACE (root here) Landlock lets a sandboxed
		// process read other processes' memory; the sidecar has no
		// capabilities. The Docker suite checks it there too.
		tests = append(tests, struct {
			name, script, want string
			ok                 bool
		}{"read the parent's memory map", "cat /proc/$PPID/maps", "Permission denied", false})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "sh", "-c", tt.script)
			cmd.Env = append(os.Environ(), "CONFINE_TEST_HIDE="+hide)
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.ok || !strings.Contains(string(out), tt.want) {
				t.Errorf("%s: %v\n%s", tt.script, err, out)
			}
			for _, secret := range []string{"refresh-token-xyz", "cache-key-xyz"} {
				if strings.Contains(string(out), secret) {
					t.Errorf("%s printed a hidden file", tt.script)
				}
			}
		})
	}
	// The files are still there, untouched.
	for name, content := range files {
		if b, err := os.ReadFile(name); err != nil || string(b) != content {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
}

// scopesOrSkip skips a test of what Landlock ABI 6 adds on an older kernel.
func scopesOrSkip(t *testing.T) {
	t.Helper()
	if s := Probe(); !s.ScopesSignals {
		t.Skipf("the kernel's Landlock has no signal and abstract socket scoping (ABI 6 needed, kernel has %d)", s.ABI)
	}
}

// TestExecScopesSignals: a confined program cannot stop or kill a process
// outside its sandbox (as `sidecar serve` is to a tool), but can signal
// its own children.
func TestExecScopesSignals(t *testing.T) {
	landlockOrSkip(t)
	scopesOrSkip(t)
	outside := exec.Command("sleep", "1000")
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { outside.Process.Kill(); outside.Wait() })
	pid := strconv.Itoa(outside.Process.Pid)
	for _, sig := range []string{"STOP", "KILL", "TERM"} {
		t.Run(sig, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "sh", "-c", "kill -"+sig+" "+pid)
			cmd.Env = append(os.Environ(), "CONFINE_TEST_HIDE=/nonexistent")
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "Operation not permitted") {
				t.Errorf("kill -%s of a process outside the sandbox: %v\n%s", sig, err, out)
			}
			if state := procState(t, outside.Process.Pid); state != "S" {
				t.Errorf("the process outside is in state %q", state)
			}
		})
	}
	cmd := exec.Command(os.Args[0], "sh", "-c", "sleep 1000 & kill -KILL $! && wait $!; echo status=$?")
	cmd.Env = append(os.Environ(), "CONFINE_TEST_HIDE=/nonexistent")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "status=137") {
		t.Errorf("a confined program could not kill its own child: %v\n%s", err, out)
	}
}

// procState is the state letter of process pid (S sleeping, T stopped).
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ...: comm may hold spaces, the last ')' ends it.
	_, rest, _ := strings.Cut(string(b[strings.LastIndexByte(string(b), ')'):]), " ")
	state, _, _ := strings.Cut(rest, " ")
	return state
}

// TestExecScopesAbstractSockets: a confined program cannot connect to an
// abstract unix socket made outside its sandbox; a pathname one it can
// (no Landlock right covers connect before ABI 9).
func TestExecScopesAbstractSockets(t *testing.T) {
	landlockOrSkip(t)
	scopesOrSkip(t)
	abstract := "@devicegate-confine-test-" + strconv.Itoa(os.Getpid())
	for _, tt := range []struct {
		addr string
		ok   bool
	}{{abstract, false}, {filepath.Join(t.TempDir(), "s.sock"), true}} {
		ln, err := net.Listen("unix", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		cmd := exec.Command(os.Args[0], os.Args[0])
		cmd.Env = append(os.Environ(), "CONFINE_TEST_HIDE=/nonexistent", "CONFINE_TEST_DIAL="+tt.addr)
		out, err := cmd.CombinedOutput()
		if (err == nil) != tt.ok {
			t.Errorf("connecting to %s: %v\n%s", tt.addr, err, out)
		}
		// Unconfined, both answer: a refusal is Landlock's.
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "CONFINE_TEST_DIAL="+tt.addr)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("unconfined, connecting to %s: %v\n%s", tt.addr, err, out)
		}
	}
}

func TestSupport(t *testing.T) {
	tests := []struct {
		abi     int
		missing []string
	}{
		{0, []string{"tools can read the token cache and the secret files: Landlock ABI 1 needed, the kernel has no Landlock",
			"tools can signal other processes (stop or kill sidecar serve): Landlock ABI 6 needed, the kernel has no Landlock",
			"tools can connect to abstract unix sockets outside their sandbox: Landlock ABI 6 needed, the kernel has no Landlock"}},
		{5, []string{"tools can signal other processes (stop or kill sidecar serve): Landlock ABI 6 needed, kernel has 5",
			"tools can connect to abstract unix sockets outside their sandbox: Landlock ABI 6 needed, kernel has 5"}},
		{6, nil},
		{7, nil},
	}
	for _, tt := range tests {
		s := support(tt.abi)
		if !slices.Equal(s.Missing, tt.missing) || s.HidesFiles != (tt.abi >= 1) || s.ScopesSignals != (tt.abi >= 6) || s.ScopesAbstractUnixSockets != (tt.abi >= 6) {
			t.Errorf("support(%d) = %+v", tt.abi, s)
		}
	}
}

func TestExecMissingProgram(t *testing.T) {
	landlockOrSkip(t)
	cmd := exec.Command(os.Args[0], "/nonexistent/program")
	cmd.Env = append(os.Environ(), "CONFINE_TEST_HIDE=/nonexistent")
	out, err := cmd.CombinedOutput()
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 111 {
		t.Errorf("exit %v, want 111\n%s", err, out)
	}
}

func TestCleanPaths(t *testing.T) {
	if _, err := cleanPaths([]string{"/"}); err == nil {
		t.Error("hiding / was accepted")
	}
	got, err := cleanPaths([]string{"", "/nonexistent/x", "/tmp/../etc/hostname"})
	if err != nil || len(got) != 1 || got[0] != "/etc/hostname" {
		t.Errorf("cleanPaths = %q, %v", got, err)
	}
}

func TestRelate(t *testing.T) {
	hidden := []string{"/data/devicegate", "/run/secrets/cache_key"}
	for p, want := range map[string]relation{
		"/data": above, "/data/devicegate": hiddenExactly, "/data/devicegatex": unrelated, "/run": above,
		"/run/secrets": above, "/run/secrets/cache_key": hiddenExactly, "/run/secrets/other": unrelated, "/usr": unrelated,
	} {
		if got := relate(p, hidden); got != want {
			t.Errorf("relate(%q) = %v, want %v", p, got, want)
		}
	}
}
