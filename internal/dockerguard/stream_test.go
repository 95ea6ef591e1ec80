package dockerguard

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/pkg/stdcopy"
)

// stream is a client's side of a hijacked exec start.
type stream struct {
	conn *net.UnixConn
	resp *http.Response
	r    *bufio.Reader
}

// startStream creates an exec through the guard and starts it on a raw
// connection, the way the Docker CLI does. early is written in the same
// write as the request, before the answer arrives.
func (env *testEnv) startStream(t *testing.T, create, start string, upgrade bool, early string) *stream {
	t.Helper()
	id := env.createExec(t, create)
	c, err := net.Dial("unix", env.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var hdr []string
	if upgrade {
		hdr = []string{"Connection: Upgrade", "Upgrade: tcp"}
	}
	if _, err := io.WriteString(c, rawRequest("POST", "/v1.50/exec/"+id+"/start", start, hdr...)+early); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	return &stream{conn: c.(*net.UnixConn), resp: resp, r: r}
}

func (s *stream) readAll(t *testing.T) string {
	t.Helper()
	b, err := io.ReadAll(s.r)
	if err != nil {
		t.Fatalf("reading stream: %v", err)
	}
	return string(b)
}

func TestExecStream(t *testing.T) {
	const (
		interactive    = `{"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":false,"Cmd":["sidecar","login"]}`
		interactiveTTY = `{"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":true,"ConsoleSize":[24,80],"Cmd":["sidecar","login"]}`
		outputOnly     = `{"AttachStdout":true,"AttachStderr":true,"Cmd":["tgauth","status"]}`
	)
	tests := []struct {
		name        string
		create      string
		start       string
		upgrade     bool
		early       string // sent with the request
		input       string // sent after the answer head
		closeWrite  bool
		status      int
		contentType string
		tty         bool
		stdout      string
		stderr      string
	}{
		{
			name: "stdin with half-close", create: interactive, start: startBody, upgrade: true,
			input: "hello\nworld\n", closeWrite: true,
			status: 101, contentType: "application/vnd.docker.multiplexed-stream",
			stdout: "out: sidecar login\nhello\nworld\nstdin closed\n", stderr: "err: sidecar login\n",
		},
		{
			name: "stdin sent with the request", create: interactive, start: startBody, upgrade: true,
			early: "early bytes\n", input: "late\n", closeWrite: true,
			status: 101, contentType: "application/vnd.docker.multiplexed-stream",
			stdout: "out: sidecar login\nearly bytes\nlate\nstdin closed\n", stderr: "err: sidecar login\n",
		},
		{
			name: "tty ended by the process", create: interactiveTTY, start: `{"Detach":false,"Tty":true,"ConsoleSize":[24,80]}`, upgrade: true,
			input: "abc\x04", tty: true,
			status: 101, contentType: "application/vnd.docker.raw-stream",
			stdout: "out: sidecar login\nerr: sidecar login\nabcstdin closed\n",
		},
		{
			name: "output only", create: outputOnly, start: startBody, upgrade: true,
			status: 101, contentType: "application/vnd.docker.multiplexed-stream",
			stdout: "out: tgauth status\n", stderr: "err: tgauth status\n",
		},
		{
			name: "without upgrade", create: interactive, start: startBody, upgrade: false,
			input: "old client\n", closeWrite: true,
			status: 200, contentType: "application/vnd.docker.raw-stream",
			stdout: "out: sidecar login\nold client\nstdin closed\n", stderr: "err: sidecar login\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			s := env.startStream(t, tt.create, tt.start, tt.upgrade, tt.early)
			if s.resp.StatusCode != tt.status || s.resp.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("answer %s %q, want %d %q", s.resp.Status, s.resp.Header.Get("Content-Type"), tt.status, tt.contentType)
			}
			if _, err := io.WriteString(s.conn, tt.input); err != nil {
				t.Fatal(err)
			}
			if tt.closeWrite {
				if err := s.conn.CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			if tt.tty {
				stdout.WriteString(s.readAll(t))
			} else if _, err := stdcopy.StdCopy(&stdout, &stderr, s.r); err != nil {
				t.Fatalf("demultiplexing: %v", err)
			}
			if stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("stdout %q stderr %q, want %q %q", stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
			// The exec stays known to the guard for the CLI's final inspect.
			id := strings.Split(env.fake.requests()[len(env.fake.requests())-1], "/")[3]
			if resp, body := env.do(t, rawRequest("GET", "/exec/"+id+"/json", "")); resp.StatusCode != 200 {
				t.Errorf("exec inspect after the stream: %s %s", resp.Status, body)
			}
		})
	}
}

func TestShutdownClosesStreams(t *testing.T) {
	env := newTestEnv(t)
	s := env.startStream(t, `{"AttachStdin":true,"AttachStdout":true,"Tty":true,"Cmd":["sidecar","login"]}`, `{"Tty":true}`, true, "")
	if s.resp.StatusCode != 101 {
		t.Fatalf("answer %s", s.resp.Status)
	}
	// The fake process waits for stdin that never comes.
	if got, want := readN(t, s.r, len("out: sidecar login\n")), "out: sidecar login\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- env.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadAll(s.r); err != nil {
		t.Errorf("stream not closed by shutdown: %v", err)
	}
}

func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}
