package privdrop

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The drop is process-wide and irreversible, so it runs in a child: the
// test binary again, with childEnv saying what to do.
const childEnv = "PRIVDROP_TEST_CHILD"

func TestMain(m *testing.M) {
	if sock := os.Getenv(childEnv); sock != "" {
		os.Exit(child(sock))
	}
	os.Exit(m.Run())
}

// child drops, then reports its ids and whether it can connect to the
// socket (group rw) and read a root-only file (it must not).
func child(sock string) int {
	g, err := ToSocketGroup(sock, 65532, 65532)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		return 1
	}
	groups, _ := os.Getgroups()
	gs := make([]string, len(groups))
	for i, x := range groups {
		gs[i] = strconv.Itoa(x)
	}
	c, err := net.Dial("unix", sock)
	dial := "ok"
	if err != nil {
		dial = "refused"
	} else {
		c.Close()
	}
	_, err = os.ReadFile(sock + ".secret")
	secret := "unreadable"
	if err == nil {
		secret = "readable"
	}
	os.Stdout.WriteString(strings.Join([]string{
		"sockgid=" + strconv.Itoa(g),
		"uid=" + strconv.Itoa(os.Getuid()), "euid=" + strconv.Itoa(os.Geteuid()),
		"gid=" + strconv.Itoa(os.Getgid()), "groups=" + strings.Join(gs, ","),
		"dial=" + dial, "secret=" + secret,
	}, " ") + "\n")
	return 0
}

func TestToSocketGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		if _, err := ToSocketGroup("/nonexistent", 65532, 65532); !errors.Is(err, ErrNotRoot) {
			t.Fatalf("as a user: %v, want ErrNotRoot", err)
		}
		t.Skip("the drop itself needs root")
	}
	// A socket root:4242 mode 0660 in a directory everyone may enter, as
	// the engine's root:docker socket, and a root-only file beside it.
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
	if err := os.Chown(sock, 0, 4242); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o660); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sock+".secret", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+sock)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	got := strings.TrimSpace(string(out))
	want := "sockgid=4242 uid=65532 euid=65532 gid=65532 groups=4242 dial=ok secret=unreadable"
	if got != want {
		t.Fatalf("after the drop:\n got %s\nwant %s", got, want)
	}

	// A missing socket is an error, and nothing is dropped.
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+filepath.Join(dir, "missing.sock"))
	out, _ = cmd.Output()
	if line, _ := bufio.NewReader(strings.NewReader(string(out))).ReadString('\n'); !strings.HasPrefix(line, "error privdrop: ") || !strings.Contains(line, "no such file") {
		t.Fatalf("missing socket: %q", out)
	}
}

func TestToSocketGroupRefusesRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, ids := range [][2]int{{0, 65532}, {65532, 0}, {-1, 65532}} {
		if _, err := ToSocketGroup("/", ids[0], ids[1]); err == nil || errors.Is(err, ErrNotRoot) {
			t.Errorf("uid %d gid %d: %v, want a refusal", ids[0], ids[1], err)
		}
	}
}
