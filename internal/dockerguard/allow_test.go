package dockerguard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

func execOptions(cmd ...string) container.ExecOptions {
	return container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true}
}

func TestAllow(t *testing.T) {
	env := newTestEnv(t)
	execID := env.createExec(t, execBody)
	tests := []struct {
		name    string
		raw     string
		status  int
		forward string                                         // what upstream must see
		check   func(t *testing.T, h http.Header, body string) // optional
	}{
		{"ping", rawRequest("GET", "/_ping", ""), 200, "GET /_ping", func(t *testing.T, h http.Header, body string) {
			if body != "OK" || h.Get("Api-Version") != "1.51" {
				t.Errorf("ping answer %q, Api-Version %q", body, h.Get("Api-Version"))
			}
		}},
		{"ping HEAD", rawRequest("HEAD", "/_ping", ""), 200, "HEAD /_ping", nil},
		{"ping versioned", rawRequest("GET", "/v1.45/_ping", ""), 200, "GET /v1.45/_ping", nil},
		{"version", rawRequest("GET", "/version", ""), 200, "GET /version", nil},
		{"version versioned", rawRequest("GET", "/v1.50/version", ""), 200, "GET /v1.50/version", nil},
		{"version query dropped", rawRequest("GET", "/version?x=../../", ""), 200, "GET /version", nil},
		{"container list", rawRequest("GET", "/containers/json", ""), 200,
			"GET /containers/json?filters=%7B%22label%22%3A%7B%22com.docker.compose.oneoff%3DFalse%22%3Atrue%2C%22com.docker.compose.project%3Dmyapp%22%3Atrue%2C%22com.docker.compose.service%3Dsidecar%22%3Atrue%7D%7D", onlySidecar},
		{"container list filters overridden", rawRequest("GET", `/v1.50/containers/json?all=1&filters={"name":{"openclaw":true}}`, ""), 200,
			"GET /v1.50/containers/json?all=1&filters=%7B%22label%22%3A%7B%22com.docker.compose.oneoff%3DFalse%22%3Atrue%2C%22com.docker.compose.project%3Dmyapp%22%3Atrue%2C%22com.docker.compose.service%3Dsidecar%22%3Atrue%7D%7D", onlySidecar},
		{"inspect by name", rawRequest("GET", "/v1.50/containers/myapp-sidecar-1/json", ""), 200, "GET /v1.50/containers/" + sidecarID + "/json", envRedacted},
		{"inspect by ID", rawRequest("GET", "/containers/"+sidecarID+"/json", ""), 200, "GET /containers/" + sidecarID + "/json", envRedacted},
		{"inspect by ID prefix", rawRequest("GET", "/containers/"+sidecarID[:12]+"/json?size=1", ""), 200, "GET /containers/" + sidecarID + "/json?size=1", envRedacted},
		// Upstream, "5c1d" is the decoy's name; the guard sends the full ID.
		{"inspect by prefix that is another container's name", rawRequest("GET", "/containers/5c1d/json", ""), 200, "GET /containers/" + sidecarID + "/json", envRedacted},
		{"exec create", rawRequest("POST", "/v1.50/containers/myapp-sidecar-1/exec", execBody), 201, "POST /v1.50/containers/" + sidecarID + "/exec", nil},
		{"exec create by prefix that is another container's name", rawRequest("POST", "/containers/5c1d/exec", execBody), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec tgauth", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["tgauth","status"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec minimal body", rawRequest("POST", "/containers/myapp-sidecar-1/exec", `{"Cmd":["sidecar","status"]}`), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec with harmless env", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["TERM=xterm","LANG=C.UTF-8","SIDECARX=1"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec interactive tty", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Tty":true,"AttachStdin":true,"ConsoleSize":[24,80],"DetachKeys":"ctrl-q,q"}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar run gh", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--","gh","issue","list","-R","o/r"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar run gh without --", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","gh","api","-X","GET","/user"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar run with flags", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","--profile","work","-env=AZ_TOKEN","--min-ttl","5m","--","az","account","show"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar run, tool arguments that look like ours", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","run","gh","--","sh","--profile"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec other sidecar commands name no program", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","api","--","sh"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar token", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","token","--json"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar api", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","api","-X","POST","-d","{}","/me/events"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar login", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","login","--json"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar logout", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","logout"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar audit", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","audit","--json"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec sidecar help", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["sidecar","help"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec tgauth with flags", rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Cmd":["tgauth","--profile","work","--force"]}`)), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec chunked body", chunkedRequest("/containers/myapp-sidecar-1/exec", execBody), 201, "POST /containers/" + sidecarID + "/exec", nil},
		{"exec resize", rawRequest("POST", "/v1.50/exec/"+execID+"/resize?h=24&w=80&x=1", ""), 200, "POST /v1.50/exec/" + execID + "/resize?h=24&w=80", nil},
		{"exec inspect", rawRequest("GET", "/v1.50/exec/"+execID+"/json", ""), 200, "GET /v1.50/exec/" + execID + "/json", nil},
		{"exec start detached", rawRequest("POST", "/v1.50/exec/"+execID+"/start", `{"Detach":true,"Tty":false}`), 200, "POST /v1.50/exec/" + execID + "/start", nil},
		{"exec start again", rawRequest("POST", "/exec/"+execID+"/start", `{"Detach":true}`), 409, "POST /exec/" + execID + "/start", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.fake.requests())
			resp, body := env.do(t, tt.raw)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			got := forwarded(env.fake.requests()[before:])
			if len(got) != 1 || got[0] != tt.forward {
				t.Errorf("upstream saw %q, want %q", got, tt.forward)
			}
			if tt.check != nil {
				tt.check(t, resp.Header, body)
			}
		})
	}
	if !strings.Contains(env.logs.String(), `"msg":"docker api request allowed"`) {
		t.Error("decisions were not logged")
	}
}

func chunkedRequest(target, body string) string {
	return "POST " + target + " HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x", len(body)) + "\r\n" + body + "\r\n0\r\n\r\n"
}

func onlySidecar(t *testing.T, _ http.Header, body string) {
	t.Helper()
	var list []struct{ Id string }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Id != sidecarID {
		t.Errorf("list %s, want only the sidecar", body)
	}
}

func envRedacted(t *testing.T, _ http.Header, body string) {
	t.Helper()
	var c struct {
		Id     string
		Config struct{ Env []string }
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	if c.Id != sidecarID || c.Config.Env == nil || len(c.Config.Env) != 0 || strings.Contains(body, "hunter2") {
		t.Errorf("inspect %s, want the sidecar with Env redacted", body)
	}
}
