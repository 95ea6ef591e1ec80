package dockerguard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/envname"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
)

// testEnv is a guard serving on a unix socket in front of a fake daemon.
type testEnv struct {
	fake *fakeDaemon
	g    *Guard
	sock string
	logs *syncbuf.Buffer
	stop func() error // cancels Serve and returns its result
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	env := &testEnv{fake: newFakeDaemon(t), logs: &syncbuf.Buffer{}}
	g, err := New(Config{
		Upstream:     env.fake.sock,
		RunTools:     []string{"gh", "az"},
		MaxBodyBytes: 4096,
		Logger:       slog.New(slog.NewJSONHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	env.g = g
	env.sock = filepath.Join(shortTempDir(t), "guard.sock")
	l, err := Listen(env.sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, l) }()
	var once sync.Once
	var serveErr error
	env.stop = func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := env.stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		if strings.Contains(env.logs.String(), "hunter2") {
			t.Errorf("a secret reached the log:\n%s", env.logs)
		}
	})
	return env
}

// do sends one raw HTTP request on a fresh connection, so that request
// targets reach the guard exactly as written.
func (env *testEnv) do(t *testing.T, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("unix", env.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(raw, " ")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading answer body: %v", err)
	}
	return resp, string(b)
}

// rawRequest formats a request with a Content-Length body.
func rawRequest(method, target, body string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" || method == http.MethodPost {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// createExec makes an exec in the sidecar through the guard.
func (env *testEnv) createExec(t *testing.T, body string) string {
	t.Helper()
	resp, b := env.do(t, rawRequest("POST", "/v1.50/containers/myapp-sidecar-1/exec", body))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("exec create: %s %s", resp.Status, b)
	}
	var created struct{ Id string }
	if err := json.Unmarshal([]byte(b), &created); err != nil {
		t.Fatal(err)
	}
	return created.Id
}

// isLookup reports whether an upstream request is the guard's own sidecar
// lookup rather than something forwarded for the client.
func isLookup(req string) bool {
	return strings.HasPrefix(req, "lookup: GET /containers/json?")
}

func forwarded(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if !isLookup(r) {
			out = append(out, r)
		}
	}
	return out
}

const (
	execBody    = `{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sidecar","version"],"Detach":false}`
	startBody   = `{"Detach":false,"Tty":false}`
	allowedHint = "allowed: docker exec myapp-sidecar-1 sidecar token|run|api|status|login|logout|audit|version|help ..., tgauth ... (sidecar run -- gh|az ...)"
)

// execWith is execBody with some fields replaced.
func execWith(fields string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(execBody), &m)
	_ = json.Unmarshal([]byte(fields), &m)
	b, _ := json.Marshal(m)
	return string(b)
}

func TestDeny(t *testing.T) {
	env := newTestEnv(t)
	foreign := env.fake.addExec(sidecarID, execOptions("sh"))
	big := execWith(`{"Cmd":["sidecar","` + strings.Repeat("x", 5000) + `"]}`)
	chunked := func(target, body string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", target, len(body), body)
	}
	tests := []struct {
		name   string
		raw    string
		status int    // default 403
		reason string // in the message
	}{
		{"create container", rawRequest("POST", "/v1.50/containers/create", `{"Image":"alpine","Cmd":["sh"]}`), 0, "not allowed"},
		{"run privileged", rawRequest("POST", "/containers/create?name=x", `{"Image":"alpine","HostConfig":{"Privileged":true,"Binds":["/:/host"]}}`), 0, "not allowed"},
		{"start container", rawRequest("POST", "/containers/"+sidecarID+"/start", ""), 0, "not allowed"},
		{"kill sidecar", rawRequest("POST", "/containers/myapp-sidecar-1/kill", ""), 0, "not allowed"},
		{"remove sidecar", rawRequest("DELETE", "/containers/myapp-sidecar-1?force=1", ""), 0, "not allowed"},
		{"update sidecar", rawRequest("POST", "/containers/myapp-sidecar-1/update", `{"Privileged":true}`), 0, "not allowed"},
		{"exec into the agent", rawRequest("POST", "/containers/myapp-openclaw-1/exec", execBody), 0, "not the sidecar"},
		{"exec into another project's sidecar", rawRequest("POST", "/containers/other-sidecar-1/exec", execBody), 0, "not the sidecar"},
		{"exec into container by ID", rawRequest("POST", "/containers/"+agentID+"/exec", execBody), 0, "not the sidecar"},
		{"exec into a container run from the sidecar image", rawRequest("POST", "/containers/keygen/exec", execBody), 0, "not the sidecar"},
		{"exec into it by ID", rawRequest("POST", "/containers/"+imageRunID+"/exec", execBody), 0, "not the sidecar"},
		{"exec into a one-off sidecar", rawRequest("POST", "/containers/myapp-sidecar-run-0e0f/exec", execBody), 0, "not the sidecar"},
		{"inspect a container run from the sidecar image", rawRequest("GET", "/containers/keygen/json", ""), 0, "not the sidecar"},
		{"exec sh", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sh","-c","id"]}`)), 0, `command "sh"`},
		{"exec /bin/sh", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["/bin/sh"]}`)), 0, `command "/bin/sh"`},
		{"exec sidecar by path", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["/usr/local/bin/sidecar"]}`)), 0, "not allowed"},
		{"exec ../sidecar", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["../sidecar"]}`)), 0, "not allowed"},
		{"exec Sidecar", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["Sidecar"]}`)), 0, "not allowed"},
		{"exec sidecar serve", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","serve"]}`)), 0, "sidecar serve is never allowed"},
		{"exec sidecar guard", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","guard"]}`)), 0, "sidecar guard is never allowed"},
		{"exec sidecar health", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","health"]}`)), 0, "sidecar health is never allowed"},
		{"exec sidecar keygen", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","keygen"]}`)), 0, "sidecar keygen is never allowed"},
		{"exec sidecar __refresh", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","__refresh","default"]}`)), 0, "sidecar __refresh is never allowed"},
		{"exec sidecar __confined", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","__confined","0","/bin/sh","sh"]}`)), 0, "sidecar __confined is never allowed"},
		{"exec sidecar _x", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","_x"]}`)), 0, "never allowed"},
		{"exec bare sidecar", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar"]}`)), 0, "sidecar without a subcommand"},
		{"exec sidecar -h", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","-h"]}`)), 0, `sidecar "-h" is not allowed`},
		{"exec sidecar --version", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","--version"]}`)), 0, `sidecar "--version" is not allowed`},
		{"exec sidecar Serve", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","Serve"]}`)), 0, `sidecar "Serve" is not allowed`},
		{"exec sidecar unknown", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","refresh"]}`)), 0, `sidecar "refresh" is not allowed`},
		{"env DEVICEGATE_CALLER", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["DEVICEGATE_CALLER=owner"]}`)), 0, "DEVICEGATE_CALLER is protected"},
		{"env DEVICEGATE_CALLER unset", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["DEVICEGATE_CALLER"]}`)), 0, "DEVICEGATE_CALLER is protected"},
		{"env devicegate_caller", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["devicegate_caller=owner"]}`)), 0, "devicegate_caller is protected"},
		{"env GUARD_RUN_TOOLS", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["GUARD_RUN_TOOLS=sh"]}`)), 0, "GUARD_RUN_TOOLS is protected"},
		{"exec without command", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":[]}`)), 0, "without a command"},
		{"exec null command", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":null}`)), 0, "without a command"},
		{"exec as uid 0", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"User":"0"}`)), 0, "as user"},
		{"exec as root", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"User":"root"}`)), 0, "as user"},
		{"exec as root:root", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"User":"root:root"}`)), 0, "as user"},
		{"exec privileged", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Privileged":true}`)), 0, "privileged"},
		{"exec in another directory", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"WorkingDir":"/tmp"}`)), 0, "working directory"},
		{"env OAUTH_CLIENT_ID", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["OAUTH_CLIENT_ID=evil"]}`)), 0, "OAUTH_CLIENT_ID is protected"},
		{"env PATH", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["PATH=/tmp"]}`)), 0, "PATH is protected"},
		{"env path lower case", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["FOO=1","path=/tmp"]}`)), 0, "path is protected"},
		{"env PATH unset", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["PATH"]}`)), 0, "PATH is protected"},
		{"env LD_PRELOAD", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["LD_PRELOAD=/tmp/x.so"]}`)), 0, "LD_PRELOAD is protected"},
		{"env LD_AUDIT", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["LD_AUDIT=/tmp/x.so"]}`)), 0, "protected"},
		{"env https_proxy", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["https_proxy=http://evil"]}`)), 0, "protected"},
		{"env SSL_CERT_FILE", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["SSL_CERT_FILE=/tmp/ca"]}`)), 0, "protected"},
		{"env GODEBUG", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["GODEBUG=x509ignoreCN=0"]}`)), 0, "protected"},
		{"env HOME", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["HOME=/tmp"]}`)), 0, "protected"},
		{"env XDG_CONFIG_HOME", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["XDG_CONFIG_HOME=/tmp"]}`)), 0, "protected"},
		{"env TELEGRAM_BOT_TOKEN", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["TELEGRAM_BOT_TOKEN=x"]}`)), 0, "protected"},
		{"env name with space", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["PATH =/tmp"]}`)), 0, "malformed environment"},
		{"env empty name", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["=x"]}`)), 0, "malformed environment"},
		{"env name too long", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["`+strings.Repeat("A", envname.MaxLen+1)+`=x"]}`)), 0, "malformed environment"},
		{"run sh", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--","sh","-c","id"]}`)), 0, `program "sh" is not allowed (allowed: gh, az)`},
		{"run sh without --", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","sh"]}`)), 0, `program "sh" is not allowed`},
		{"run unlisted tool", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--profile","gh","--","env"]}`)), 0, `program "env" is not allowed`},
		{"run tool by path", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--","/usr/bin/gh"]}`)), 0, `program "/usr/bin/gh" is not allowed`},
		{"run tool by relative path", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","./gh"]}`)), 0, `program "./gh" is not allowed`},
		{"run GH", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","GH"]}`)), 0, `program "GH" is not allowed`},
		{"run sidecar itself", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--","sidecar","token"]}`)), 0, `program "sidecar" is not allowed`},
		{"run tool hidden as a flag value", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--env","gh","sh"]}`)), 0, `program "sh" is not allowed`},
		{"run tool after --profile=", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","-profile=gh","--","sh"]}`)), 0, `program "sh" is not allowed`},
		{"run -- as a flag value", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--profile","--","sh"]}`)), 0, `program "sh" is not allowed`},
		{"run unknown flag", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--exec","gh"]}`)), 0, `unknown flag "--exec"`},
		{"run bad flag syntax", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","---profile","x","gh"]}`)), 0, "bad flag syntax"},
		{"run flag without value", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--profile"]}`)), 0, "needs a value"},
		{"run without program", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run"]}`)), 0, "no program to run"},
		{"run nothing after --", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--"]}`)), 0, "no program after --"},
		{"run help", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","-h"]}`)), 0, "use sidecar help"},
		{"run empty program", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--",""]}`)), 0, `program "" is not allowed`},
		{"run with environment", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--","gh","api","/user"],"Env":["GH_HOST=evil.example"]}`)), 0, "with environment variables"},
		{"run with harmless environment", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","gh"],"Env":["TERM=xterm"]}`)), 0, "with environment variables"},
		{"run with pager", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","gh"],"Env":["GH_PAGER=sh -c id"]}`)), 0, "with environment variables"},
		{"run with an unset", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","gh"],"Env":["GH_CONFIG_DIR"]}`)), 0, "with environment variables"},
		{"exec unknown field", rawRequest("POST", "/containers/myapp-sidecar-1/exec", `{"Cmd":["sidecar"],"Foo":1}`), 400, `unknown field "Foo"`},
		{"exec lower-case key", rawRequest("POST", "/containers/myapp-sidecar-1/exec", `{"Cmd":["sidecar"],"cmd":["sh"]}`), 400, `unknown field "cmd"`},
		{"exec duplicate key", rawRequest("POST", "/containers/myapp-sidecar-1/exec", `{"Cmd":["sidecar"],"Cmd":["sh"]}`), 400, "duplicate field"},
		{"exec trailing data", rawRequest("POST", "/containers/myapp-sidecar-1/exec", `{"Cmd":["sidecar"]}{"Cmd":["sh"]}`), 400, "trailing data"},
		{"exec wrong type", rawRequest("POST", "/containers/myapp-sidecar-1/exec", `{"Cmd":"sidecar"}`), 400, "does not match"},
		{"exec array body", rawRequest("POST", "/containers/myapp-sidecar-1/exec", `[]`), 400, "not a JSON object"},
		{"exec empty body", rawRequest("POST", "/containers/myapp-sidecar-1/exec", ``), 400, "not a JSON object"},
		{"exec invalid UTF-8", rawRequest("POST", "/containers/myapp-sidecar-1/exec", "{\"Cmd\":[\"sidecar\",\"\xff\"]}"), 400, "UTF-8"},
		{"exec oversized body", rawRequest("POST", "/containers/myapp-sidecar-1/exec", big), 413, "larger than 4096"},
		{"exec chunked body over limit", chunked("/containers/myapp-sidecar-1/exec", big), 413, "larger than 4096"},
		{"start oversized body", rawRequest("POST", "/exec/"+foreign+"/start", big), 413, "larger than"},
		{"docker cp from", rawRequest("GET", "/v1.50/containers/myapp-sidecar-1/archive?path=/data", ""), 0, "not allowed"},
		{"docker cp to", rawRequest("PUT", "/v1.50/containers/myapp-sidecar-1/archive?path=/", "tar"), 0, "not allowed"},
		{"docker cp stat", rawRequest("HEAD", "/v1.50/containers/myapp-sidecar-1/archive?path=/", ""), 0, "not allowed"},
		{"attach", rawRequest("POST", "/containers/myapp-sidecar-1/attach?stream=1&stdout=1", "", "Connection: Upgrade", "Upgrade: tcp"), 0, "not allowed"},
		{"logs", rawRequest("GET", "/containers/myapp-sidecar-1/logs?stdout=1", ""), 0, "not allowed"},
		{"export", rawRequest("GET", "/containers/myapp-sidecar-1/export", ""), 0, "not allowed"},
		{"top", rawRequest("GET", "/containers/myapp-sidecar-1/top", ""), 0, "not allowed"},
		{"inspect the agent", rawRequest("GET", "/containers/myapp-openclaw-1/json", ""), 0, "not the sidecar"},
		{"inspect unknown", rawRequest("GET", "/containers/nope/json", ""), 0, "not the sidecar"},
		{"images", rawRequest("GET", "/images/json", ""), 0, "not allowed"},
		{"image pull", rawRequest("POST", "/images/create?fromImage=alpine", ""), 0, "not allowed"},
		{"volumes", rawRequest("GET", "/volumes", ""), 0, "not allowed"},
		{"networks", rawRequest("GET", "/networks", ""), 0, "not allowed"},
		{"system df", rawRequest("GET", "/system/df", ""), 0, "not allowed"},
		{"events", rawRequest("GET", "/events", ""), 0, "not allowed"},
		{"info", rawRequest("GET", "/info", ""), 0, "not allowed"},
		{"plugins", rawRequest("GET", "/plugins", ""), 0, "not allowed"},
		{"swarm", rawRequest("GET", "/swarm", ""), 0, "not allowed"},
		{"services", rawRequest("GET", "/services", ""), 0, "not allowed"},
		{"secrets", rawRequest("GET", "/secrets", ""), 0, "not allowed"},
		{"configs", rawRequest("GET", "/configs", ""), 0, "not allowed"},
		{"build", rawRequest("POST", "/build?t=x", "tar"), 0, "not allowed"},
		{"build session", rawRequest("POST", "/session", "", "Connection: Upgrade", "Upgrade: h2c"), 0, "not allowed"},
		{"commit", rawRequest("POST", "/commit?container=myapp-sidecar-1", ""), 0, "not allowed"},
		{"dot-dot segment", rawRequest("GET", "/containers/../images/json", ""), 0, "dot segment"},
		{"dot segment", rawRequest("GET", "/./containers/json", ""), 0, "dot segment"},
		{"encoded dot-dot", rawRequest("GET", "/containers/%2e%2e/images/json", ""), 0, "percent-encoded"},
		{"encoded slash", rawRequest("GET", "/containers%2Fjson", ""), 0, "percent-encoded"},
		{"double-encoded slash", rawRequest("GET", "/containers%252Fjson", ""), 0, "percent-encoded"},
		{"encoded name", rawRequest("GET", "/containers/myapp-sidecar-1%2F..%2F..%2Fimages/json", ""), 0, "percent-encoded"},
		{"empty segment", rawRequest("GET", "/containers//json", ""), 0, "empty path segment"},
		{"trailing slash", rawRequest("GET", "/containers/json/", ""), 0, "empty path segment"},
		{"backslash", rawRequest("GET", "/containers\\json", ""), 0, "byte"},
		{"semicolon", rawRequest("GET", "/containers/json;x=1", ""), 0, "byte"},
		{"bad version vX", rawRequest("GET", "/vX/containers/json", ""), 0, "not allowed"},
		{"bad version v1", rawRequest("GET", "/v1/containers/json", ""), 0, "malformed API version"},
		{"bad version v1.2.3", rawRequest("GET", "/v1.2.3/containers/json", ""), 0, "malformed API version"},
		{"bad version leading zero", rawRequest("GET", "/v01.45/containers/json", ""), 0, "malformed API version"},
		{"two versions", rawRequest("GET", "/v1.45/v1.45/containers/json", ""), 0, "not allowed"},
		{"version only", rawRequest("GET", "/v1.45", ""), 0, "no endpoint"},
		{"method override", rawRequest("GET", "/containers/json", "", "X-HTTP-Method-Override: DELETE"), 0, "method override"},
		{"method override variant", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execBody, "X-Method-Override: PUT"), 0, "method override"},
		{"HTTP/1.0", "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n", 0, "HTTP/1.1 only"},
		{"absolute URI", rawRequest("GET", "http://docker/containers/json", ""), 0, "not an origin-form path"},
		{"asterisk", rawRequest("OPTIONS", "*", ""), 0, "not an origin-form path"},
		{"lower-case method", rawRequest("get", "/containers/json", ""), 0, "method"},
		{"unknown method", rawRequest("PROPFIND", "/_ping", ""), 0, "method PROPFIND"},
		{"POST ping", rawRequest("POST", "/_ping", ""), 0, "method POST"},
		{"DELETE exec", rawRequest("DELETE", "/exec/"+foreign+"/json", ""), 0, "method DELETE"},
		{"GET with body", rawRequest("GET", "/version", `{"x":1}`), 0, "unexpected request body"},
		{"exec start foreign", rawRequest("POST", "/exec/"+foreign+"/start", startBody, "Connection: Upgrade", "Upgrade: tcp"), 0, "not created through the guard"},
		{"exec start foreign detached", rawRequest("POST", "/v1.50/exec/"+foreign+"/start", `{"Detach":true}`), 0, "not created through the guard"},
		{"exec inspect foreign", rawRequest("GET", "/exec/"+foreign+"/json", ""), 0, "not created through the guard"},
		{"exec resize foreign", rawRequest("POST", "/exec/"+foreign+"/resize?h=1&w=1", ""), 0, "not created through the guard"},
		{"exec start unknown field", rawRequest("POST", "/exec/"+foreign+"/start", `{"Detach":false,"Privileged":true}`), 400, "unknown field"},
		{"malformed exec ID", rawRequest("GET", "/exec/"+foreign[:12]+"/json", ""), 0, "malformed exec ID"},
		{"upper-case exec ID", rawRequest("GET", "/exec/"+strings.ToUpper(foreign)+"/json", ""), 0, "malformed exec ID"},
		{"malformed container ref", rawRequest("GET", "/containers/-x/json", ""), 0, "malformed container reference"},
		{"CONNECT", "CONNECT docker:2375 HTTP/1.1\r\nHost: docker:2375\r\n\r\n", 0, "not an origin-form path"},
		{"long target", rawRequest("GET", "/"+strings.Repeat("a", 2000), ""), 0, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.fake.requests())
			resp, body := env.do(t, tt.raw)
			want := tt.status
			if want == 0 {
				want = http.StatusForbidden
			}
			if resp.StatusCode != want {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, want, body)
			}
			var msg struct{ Message string }
			if strings.HasPrefix(tt.raw, "HEAD ") {
				msg.Message = "devicegate guard: " + tt.reason + "; " + allowedHint // no body to HEAD
			} else if err := json.Unmarshal([]byte(body), &msg); err != nil {
				t.Fatalf("body is not a Docker error: %q", body)
			}
			if !strings.HasPrefix(msg.Message, "devicegate guard: ") || !strings.Contains(msg.Message, tt.reason) ||
				!strings.HasSuffix(msg.Message, allowedHint) {
				t.Errorf("message %q, want it to mention %q and the hint", msg.Message, tt.reason)
			}
			if got := forwarded(env.fake.requests()[before:]); len(got) > 0 {
				t.Errorf("upstream saw %q", got)
			}
		})
	}
	if !strings.Contains(env.logs.String(), `"msg":"docker api request denied"`) {
		t.Error("denials were not logged")
	}
}
