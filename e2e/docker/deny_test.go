//go:build dockere2e && linux

package docker

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	// execBody is what the Docker CLI sends for `docker exec NAME sidecar version`.
	execBody = `{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sidecar","version"],"Detach":false}`
	// hint ends every refusal the guard sends (GUARD_ALLOW_COMMANDS in compose.yaml).
	hint = "; allowed: docker exec myapp-sidecar-1 sidecar token|run|api|status|login|logout|audit|version|help ..., tgauth ..."
	// api is the version prefix the CLI uses with the engines we test on;
	// the guard passes any well-formed one through.
	api = "/v1.41"
)

// execWith is execBody with some fields replaced.
func execWith(fields string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(execBody), &m); err != nil {
		panic(err)
	}
	if err := json.Unmarshal([]byte(fields), &m); err != nil {
		panic(err)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// engineState is what a refused request must not have changed.
type engineState struct {
	containers string // every container's ID, name and start time
	images     string // e2e-escape and alpine
	decoyExecs string // exec IDs in the decoy
}

func (s *stack) engineState(t *testing.T) engineState {
	t.Helper()
	ps := s.host(t, command{args: []string{"ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Status}}"}, quiet: true})
	// Status is "Up 5 minutes": the time in it may tick; compare the
	// start time from inspect instead.
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(ps.stdout), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		r := s.host(t, command{args: []string{"inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", f[0]}, quiet: true})
		lines = append(lines, f[0]+" "+f[1]+" "+strings.TrimSpace(r.stdout))
	}
	// What a refused commit or pull would have made.
	img := s.host(t, command{args: []string{"images", "-q", "--no-trunc", "--filter", "reference=e2e-escape", "--filter", "reference=alpine"}, quiet: true})
	dx := s.host(t, command{args: []string{"inspect", "-f", "{{.ExecIDs}}", decoyName}, quiet: true})
	return engineState{strings.Join(lines, "\n"), img.stdout, dx.stdout}
}

func (s *stack) containerID(t *testing.T, name string) string {
	t.Helper()
	r := s.host(t, command{args: []string{"inspect", "-f", "{{.Id}}", name}, quiet: true})
	if r.code != 0 {
		t.Fatalf("inspect %s: %s", name, r)
	}
	return strings.TrimSpace(r.stdout)
}

// guardDenials counts the refusals in the guard's log.
func (s *stack) guardDenials(t *testing.T) int {
	t.Helper()
	r := s.host(t, command{args: []string{"logs", guardName}, quiet: true})
	return strings.Count(r.stdout+r.stderr, `msg="docker api request denied"`)
}

// denialsSince returns how many refusals the guard logged after it had
// logged before, waiting up to ten seconds for want of them: the engine
// writes a container's log a moment after the container does.
func (s *stack) denialsSince(t *testing.T, before, want int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := s.guardDenials(t) - before
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testDenyRaw sends requests the Docker CLI would not, or would for other
// commands, byte for byte through the guard's socket.
func (s *stack) testDenyRaw(t *testing.T) {
	sidecarID := s.containerID(t, sidecarName)
	decoyID := s.containerID(t, decoyName)
	// An exec the guard did not create, made with the real socket.
	status, body, err := roundTrip("/var/run/docker.sock", httpRequest("POST", api+"/containers/"+sidecarID+"/exec", execBody))
	var created struct{ ID string }
	if err != nil || status != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil {
		t.Fatalf("creating an exec with the real socket: %d %s %v", status, body, err)
	}
	foreign := created.ID
	big := execWith(`{"Cmd":["sidecar","` + strings.Repeat("x", 100<<10) + `"]}`)
	sc := "/containers/" + sidecarName

	tests := []struct {
		name   string
		raw    string
		status int    // default 403
		reason string // in the message
	}{
		{"create container", httpRequest("POST", api+"/containers/create", `{"Image":"`+image+`","Cmd":["version"]}`), 0, "endpoint POST /containers/create is not allowed"},
		{"run privileged", httpRequest("POST", "/containers/create?name=e2e-escape", `{"Image":"`+image+`","HostConfig":{"Privileged":true,"Binds":["/:/host"]}}`), 0, "not allowed"},
		{"start the decoy", httpRequest("POST", api+"/containers/"+decoyID+"/start", ""), 0, "not allowed"},
		{"kill the sidecar", httpRequest("POST", api+sc+"/kill", ""), 0, "not allowed"},
		{"remove the sidecar", httpRequest("DELETE", api+sc+"?force=1", ""), 0, "not allowed"},
		{"update the sidecar", httpRequest("POST", api+sc+"/update", `{"Privileged":true}`), 0, "not allowed"},
		{"exec into the decoy", httpRequest("POST", api+"/containers/"+decoyName+"/exec", execBody), 0, "is not the sidecar"},
		{"exec into the decoy by ID", httpRequest("POST", api+"/containers/"+decoyID+"/exec", execBody), 0, "is not the sidecar"},
		{"exec into the guard", httpRequest("POST", api+"/containers/"+guardName+"/exec", execBody), 0, "is not the sidecar"},
		{"inspect the decoy", httpRequest("GET", api+"/containers/"+decoyName+"/json", ""), 0, "is not the sidecar"},
		{"exec sh", httpRequest("POST", api+sc+"/exec", execWith(`{"Cmd":["sh","-c","id"]}`)), 0, `command "sh" is not allowed`},
		{"exec sidecar by path", httpRequest("POST", api+sc+"/exec", execWith(`{"Cmd":["/usr/local/bin/sidecar"]}`)), 0, "is not allowed"},
		{"exec sidecar serve (a second Telegram poller)", httpRequest("POST", api+sc+"/exec", execWith(`{"Cmd":["sidecar","serve"]}`)), 0, "sidecar serve is never allowed"},
		{"exec sidecar guard", httpRequest("POST", api+sc+"/exec", execWith(`{"Cmd":["sidecar","guard"]}`)), 0, "sidecar guard is never allowed"},
		{"exec sidecar keygen", httpRequest("POST", api+sc+"/exec", execWith(`{"Cmd":["sidecar","keygen"]}`)), 0, "sidecar keygen is never allowed"},
		{"exec sidecar __refresh", httpRequest("POST", api+sc+"/exec", execWith(`{"Cmd":["sidecar","__refresh","default"]}`)), 0, "sidecar __refresh is never allowed"},
		{"exec as the owner", httpRequest("POST", api+sc+"/exec", execWith(`{"Env":["DEVICEGATE_CALLER=owner"]}`)), 0, "DEVICEGATE_CALLER is protected"},
		{"exec without the mark", httpRequest("POST", api+sc+"/exec", execWith(`{"Env":["DEVICEGATE_CALLER"]}`)), 0, "DEVICEGATE_CALLER is protected"},
		{"exec as uid 0", httpRequest("POST", api+sc+"/exec", execWith(`{"User":"0"}`)), 0, "exec as user"},
		{"exec as root", httpRequest("POST", api+sc+"/exec", execWith(`{"User":"root"}`)), 0, "exec as user"},
		{"exec privileged", httpRequest("POST", api+sc+"/exec", execWith(`{"Privileged":true}`)), 0, "privileged exec"},
		{"exec in another directory", httpRequest("POST", api+sc+"/exec", execWith(`{"WorkingDir":"/tmp"}`)), 0, "working directory"},
		{"env OAUTH_ISSUER", httpRequest("POST", api+sc+"/exec", execWith(`{"Env":["OAUTH_ISSUER=http://127.0.0.1:1"]}`)), 0, "OAUTH_ISSUER is protected"},
		{"env PATH", httpRequest("POST", api+sc+"/exec", execWith(`{"Env":["PATH=/tmp"]}`)), 0, "PATH is protected"},
		{"env LD_PRELOAD", httpRequest("POST", api+sc+"/exec", execWith(`{"Env":["LD_PRELOAD=/tmp/x.so"]}`)), 0, "LD_PRELOAD is protected"},
		{"exec duplicate key", httpRequest("POST", api+sc+"/exec", `{"Cmd":["sidecar"],"Cmd":["sh"]}`), 400, "duplicate field"},
		{"exec lower-case key", httpRequest("POST", api+sc+"/exec", `{"Cmd":["sidecar"],"cmd":["sh"]}`), 400, `unknown field "cmd"`},
		{"exec oversized body", httpRequest("POST", api+sc+"/exec", big), 413, "request body is larger than 65536 bytes"},
		{"exec oversized chunked body", chunkedRequest(api+sc+"/exec", big), 413, "request body is larger than 65536 bytes"},
		{"start a foreign exec", httpRequest("POST", api+"/exec/"+foreign+"/start", `{"Detach":false,"Tty":false}`, "Connection: Upgrade", "Upgrade: tcp"), 0, "not created through the guard"},
		{"inspect a foreign exec", httpRequest("GET", api+"/exec/"+foreign+"/json", ""), 0, "not created through the guard"},
		{"resize a foreign exec", httpRequest("POST", api+"/exec/"+foreign+"/resize?h=1&w=1", ""), 0, "not created through the guard"},
		{"docker cp from", httpRequest("GET", api+sc+"/archive?path=/data", ""), 0, "endpoint GET /containers/myapp-sidecar-1/archive is not allowed"},
		{"docker cp to", httpRequest("PUT", api+sc+"/archive?path=/tmp", "tar"), 0, "not allowed"},
		{"docker cp stat", httpRequest("HEAD", api+sc+"/archive?path=/", ""), 0, "not allowed"},
		{"attach", httpRequest("POST", api+sc+"/attach?stream=1&stdin=1&stdout=1", "", "Connection: Upgrade", "Upgrade: tcp"), 0, "not allowed"},
		{"logs", httpRequest("GET", api+sc+"/logs?stdout=1&stderr=1", ""), 0, "not allowed"},
		{"export", httpRequest("GET", api+sc+"/export", ""), 0, "not allowed"},
		{"images", httpRequest("GET", api+"/images/json", ""), 0, "endpoint GET /images/json is not allowed"},
		{"image pull", httpRequest("POST", api+"/images/create?fromImage=alpine&tag=latest", ""), 0, "not allowed"},
		{"volumes", httpRequest("GET", api+"/volumes", ""), 0, "not allowed"},
		{"networks", httpRequest("GET", api+"/networks", ""), 0, "not allowed"},
		{"system df", httpRequest("GET", api+"/system/df", ""), 0, "not allowed"},
		{"info", httpRequest("GET", api+"/info", ""), 0, "not allowed"},
		{"events", httpRequest("GET", api+"/events", ""), 0, "not allowed"},
		{"plugins", httpRequest("GET", api+"/plugins", ""), 0, "not allowed"},
		{"swarm", httpRequest("GET", api+"/swarm", ""), 0, "not allowed"},
		{"swarm init", httpRequest("POST", api+"/swarm/init", `{"ListenAddr":"127.0.0.1:2377"}`), 0, "not allowed"},
		{"build", httpRequest("POST", api+"/build?t=e2e", "tar"), 0, "not allowed"},
		{"commit", httpRequest("POST", api+"/commit?container="+sidecarName, ""), 0, "not allowed"},
		{"dot-dot segment", httpRequest("GET", "/containers/../images/json", ""), 0, "dot segment"},
		{"dot-dot after the version", httpRequest("GET", api+"/_ping/../images/json", ""), 0, "dot segment"},
		{"encoded dot-dot", httpRequest("GET", "/containers/%2e%2e/images/json", ""), 0, "percent-encoded path"},
		{"encoded slash", httpRequest("GET", "/containers%2Fjson", ""), 0, "percent-encoded path"},
		{"double-encoded slash", httpRequest("GET", "/containers%252Fjson", ""), 0, "percent-encoded path"},
		{"encoded name", httpRequest("GET", sc+"%2F..%2F..%2Fimages/json", ""), 0, "percent-encoded path"},
		{"empty segment", httpRequest("GET", "/containers//json", ""), 0, "empty path segment"},
		{"backslash", httpRequest("GET", `/containers\json`, ""), 0, "path contains the byte"},
		{"version v1.2.3", httpRequest("GET", "/v1.2.3/containers/json", ""), 0, "malformed API version"},
		{"version with a leading zero", httpRequest("GET", "/v01.41/containers/json", ""), 0, "malformed API version"},
		{"version twice", httpRequest("GET", api+api+"/containers/json", ""), 0, "not allowed"},
		{"version only", httpRequest("GET", api, ""), 0, "no endpoint after the API version"},
		{"version upper case", httpRequest("GET", "/V1.41/images/json", ""), 0, "not allowed"},
		{"version prefix on images", httpRequest("GET", "/v1.41x/images/json", ""), 0, "malformed API version"},
		{"method override", httpRequest("GET", api+"/containers/json", "", "X-HTTP-Method-Override: DELETE"), 0, "method override header"},
		{"HTTP/1.0", "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n", 0, "HTTP/1.1 only"},
		{"GET with a body", httpRequest("GET", api+"/version", `{"x":1}`), 0, "unexpected request body"},
		{"POST ping", httpRequest("POST", "/_ping", ""), 0, "method POST is not allowed"},
	}
	before := s.engineState(t)
	denials := s.guardDenials(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := roundTrip(s.sock, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.status
			if want == 0 {
				want = http.StatusForbidden
			}
			if status != want {
				t.Errorf("status %d, want %d; body %s", status, want, body)
			}
			var msg struct{ Message string }
			if strings.HasPrefix(tt.raw, "HEAD ") {
				return // no body to a HEAD
			}
			if err := json.Unmarshal([]byte(body), &msg); err != nil {
				t.Fatalf("the answer is not a Docker error: %q", body)
			}
			if !strings.HasPrefix(msg.Message, "devicegate guard: ") || !strings.Contains(msg.Message, tt.reason) || !strings.HasSuffix(msg.Message, hint) {
				t.Errorf("message %q, want the guard's refusal mentioning %q", msg.Message, tt.reason)
			}
		})
	}
	if n := s.denialsSince(t, denials, len(tests)); n != len(tests) {
		t.Errorf("the guard logged %d refusals for %d refused requests", n, len(tests))
	}
	if after := s.engineState(t); after != before {
		t.Errorf("the engine changed:\nbefore %+v\nafter  %+v", before, after)
	}
	// The foreign exec never ran.
	status, body, err = roundTrip("/var/run/docker.sock", httpRequest("GET", api+"/exec/"+foreign+"/json", ""))
	var ex struct {
		Running bool
		Pid     int
	}
	if err != nil || status != http.StatusOK || json.Unmarshal([]byte(body), &ex) != nil || ex.Running || ex.Pid != 0 {
		t.Errorf("the foreign exec: %d %s %v", status, body, err)
	}
}

// testDenyCLI runs the agent's Docker CLI for what it must not do.
func (s *stack) testDenyCLI(t *testing.T) {
	file := filepath.Join(s.home, "payload")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		reason string // in the guard's message, which the CLI prints
	}{
		{"run privileged", []string{"run", "--rm", "--privileged", "-v", "/:/host", image, "version"}, "endpoint POST /containers/create is not allowed"},
		{"create", []string{"create", "--name", "e2e-escape", image}, "endpoint POST /containers/create is not allowed"},
		{"exec into the agent", []string{"exec", decoyName, "sidecar", "version"}, `container "` + decoyName + `" is not the sidecar`},
		{"exec into the guard", []string{"exec", guardName, "sidecar", "version"}, `container "` + guardName + `" is not the sidecar`},
		{"exec sh", []string{"exec", sidecarName, "sh"}, `command "sh" is not allowed`},
		{"exec -i sh", []string{"exec", "-i", sidecarName, "sh", "-c", "id"}, `command "sh" is not allowed`},
		{"exec by path", []string{"exec", sidecarName, "/usr/local/bin/sidecar", "version"}, `command "/usr/local/bin/sidecar" is not allowed`},
		{"exec -u 0", []string{"exec", "-u", "0", sidecarName, "sidecar", "version"}, `exec as user "0"`},
		{"exec -u root", []string{"exec", "-u", "root", sidecarName, "sidecar", "version"}, `exec as user "root"`},
		{"exec --privileged", []string{"exec", "--privileged", sidecarName, "sidecar", "version"}, "privileged exec"},
		{"exec -w", []string{"exec", "-w", "/tmp", sidecarName, "sidecar", "version"}, "working directory"},
		{"exec -e OAUTH_API_URL", []string{"exec", "-e", "OAUTH_API_URL=http://127.0.0.1:1", sidecarName, "sidecar", "api", "/"}, "OAUTH_API_URL is protected"},
		{"exec -e SSL_CERT_FILE", []string{"exec", "-e", "SSL_CERT_FILE=/tmp/ca.pem", sidecarName, "sidecar", "token"}, "SSL_CERT_FILE is protected"},
		{"sidecar run -- sh", []string{"exec", sidecarName, "sidecar", "run", "--", "sh", "-c", "id"}, "sidecar run: no tools are allowed"},
		{"cp from", []string{"cp", sidecarName + ":/data", "-"}, "is not allowed"},
		{"cp to", []string{"cp", file, sidecarName + ":/tmp/payload"}, "is not allowed"},
		{"attach", []string{"attach", "--no-stdin", sidecarName}, "received 403"},
		// By ID: the CLI looks the container up first.
		{"logs", []string{"logs", sidecarName}, "endpoint GET /containers/"},
		{"top", []string{"top", sidecarName}, "/top is not allowed"},
		{"stop", []string{"stop", sidecarName}, "/stop is not allowed"},
		{"kill", []string{"kill", sidecarName}, "/kill is not allowed"},
		{"rm -f", []string{"rm", "-f", sidecarName}, "is not allowed"},
		{"commit", []string{"commit", sidecarName, "e2e-escape"}, "endpoint POST /commit is not allowed"},
		{"export", []string{"export", "-o", filepath.Join(s.home, "export.tar"), sidecarName}, "/export is not allowed"},
		{"images", []string{"images"}, "endpoint GET /images/json is not allowed"},
		{"pull", []string{"pull", "alpine"}, "endpoint POST /images/create is not allowed"},
		{"volume ls", []string{"volume", "ls"}, "endpoint GET /volumes is not allowed"},
		{"network ls", []string{"network", "ls"}, "endpoint GET /networks is not allowed"},
		{"system df", []string{"system", "df"}, "endpoint GET /system/df is not allowed"},
		{"info", []string{"info"}, "endpoint GET /info is not allowed"},
		{"plugin ls", []string{"plugin", "ls"}, "endpoint GET /plugins is not allowed"},
		{"swarm init", []string{"swarm", "init"}, "endpoint POST /swarm/init is not allowed"},
	}
	// The CLI reports a refused upgrade by its status alone.
	hidden := map[string]bool{"attach": true}
	before := s.engineState(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.agent(t, command{args: tt.args, stdin: strings.NewReader("")})
			out := r.stdout + r.stderr
			if r.code == 0 || !strings.Contains(out, tt.reason) || !hidden[tt.name] && !strings.Contains(out, "devicegate guard: ") {
				t.Errorf("docker %s: want a refusal mentioning %q; %s", strings.Join(tt.args, " "), tt.reason, r)
			}
		})
	}
	if after := s.engineState(t); after != before {
		t.Errorf("the engine changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// testGuardAllows checks what the agent may see besides exec.
func (s *stack) testGuardAllows(t *testing.T) {
	r := s.agent(t, command{args: []string{"ps", "-a", "--format", "{{.Names}}"}})
	if r.code != 0 || strings.TrimSpace(r.stdout) != sidecarName {
		t.Errorf("docker ps shows %q, want only the sidecar: %s", r.stdout, r)
	}
	// The sidecar's environment holds its configuration: redacted.
	r = s.agent(t, command{args: []string{"inspect", "--format", "{{json .Config.Env}}", sidecarName}})
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("docker inspect shows the environment: %s", r)
	}
	r = s.agent(t, command{args: []string{"version", "--format", "{{.Server.APIVersion}}"}})
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Errorf("docker version: %s", r)
	}
	// Exit codes pass through: 2 is a usage error.
	r = s.inSidecar(t, "sidecar", "status", "no-such-argument")
	if r.code != 2 || !strings.Contains(r.stderr, "sidecar: error: status takes no arguments") {
		t.Errorf("exit code of a failing exec: %s", r)
	}
	// A subcommand that is not in the guard's table never reaches sidecar.
	r = s.inSidecar(t, "sidecar", "no-such-command")
	if r.code != 1 || !strings.Contains(r.stderr, `devicegate guard: sidecar "no-such-command" is not allowed`) {
		t.Errorf("an unknown subcommand: %s", r)
	}
	r = s.inSidecar(t, "tgauth", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "tgauth ") {
		t.Errorf("tgauth version: %s", r)
	}
}
