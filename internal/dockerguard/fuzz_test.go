package dockerguard

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/docker/docker/api/types/container"
)

// allowedShape is an independent statement of what matchRoute may accept.
var allowedShape = regexp.MustCompile(`^(/v[1-9][0-9]*\.(0|[1-9][0-9]*)|/v0\.(0|[1-9][0-9]*))?` +
	`(/_ping|/version|/containers/json|/containers/[a-zA-Z0-9][a-zA-Z0-9_.-]*/(json|exec)|/exec/[0-9a-f]{64}/(start|resize|json))$`)

var allowedMethods = map[endpoint][]string{
	epPing:             {"GET", "HEAD"},
	epVersion:          {"GET"},
	epContainerList:    {"GET"},
	epContainerInspect: {"GET"},
	epExecCreate:       {"POST"},
	epExecStart:        {"POST"},
	epExecResize:       {"POST"},
	epExecInspect:      {"GET"},
}

func FuzzMatchRoute(f *testing.F) {
	for _, s := range []string{
		"/_ping", "/v1.45/containers/json", "/containers/myapp-sidecar-1/exec", "/exec/" + sidecarID + "/start",
		"/containers/../images/json", "/containers/%2e%2e/x", "/containers%252Fjson", "/vX/_ping", "http://docker/_ping",
		"/containers/json?all=1", "/v1.50/exec/" + sidecarID + "/resize?h=1&w=2", "//_ping", "/containers/a/b/json",
	} {
		for _, m := range []string{"GET", "POST", "HEAD", "PUT"} {
			f.Add(m, s)
		}
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		rt, err := matchRoute(method, target)
		if err != nil {
			var d *denial
			if !errors.As(err, &d) || d.status != http.StatusForbidden {
				t.Fatalf("error %v is not a 403 denial", err)
			}
			return
		}
		path, query, _ := strings.Cut(target, "?")
		if !allowedShape.MatchString(path) {
			t.Fatalf("allowed %s %q, which is not an allowed shape", method, target)
		}
		for _, seg := range strings.Split(path[1:], "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("allowed odd path %q", path)
			}
		}
		if !slices.Contains(allowedMethods[rt.ep], method) {
			t.Fatalf("allowed method %q for %s", method, rt.ep)
		}
		if rt.query != "" && rt.query != query {
			t.Fatalf("query %q, want %q", rt.query, query)
		}
		if rt.arg != "" && !strings.Contains(path, "/"+rt.arg+"/") {
			t.Fatalf("argument %q not from path %q", rt.arg, path)
		}
		if got := rt.prefix() + "/"; !strings.HasPrefix(path, got) {
			t.Fatalf("version prefix %q not from path %q", got, path)
		}
	})
}

func FuzzDecodeExecCreate(f *testing.F) {
	f.Add([]byte(execBody))
	f.Add([]byte(`{"Cmd":["sidecar"],"Env":["A=1"]}`))
	f.Add([]byte(`{"Cmd":["tgauth"],"Tty":true,"ConsoleSize":[24,80]}`))
	f.Add([]byte(`{"Cmd":["sidecar"],"cmd":["sh"]}`))
	f.Add([]byte(`{"Cmd":["sh"],"Env":["PATH=/x"],"User":"0"}`))
	f.Add([]byte(`{"C\u006dd":["sidecar"]}`))
	f.Add([]byte(`{"Cmd":["sidecar"]} `))
	p := newExecPolicy(mustDefaults(f))
	f.Fuzz(func(t *testing.T, body []byte) {
		opts, err := p.decodeExecCreate(body)
		if err != nil {
			var d *denial
			if !errors.As(err, &d) || d.status != http.StatusForbidden && d.status != http.StatusBadRequest {
				t.Fatalf("error %v is not a denial", err)
			}
			return
		}
		// Whatever the daemon's decoder makes of the same bytes must pass too.
		var daemon container.ExecOptions
		if err := json.Unmarshal(body, &daemon); err != nil {
			t.Fatalf("allowed a body the daemon cannot decode: %v", err)
		}
		var lax map[string]json.RawMessage
		_ = json.Unmarshal(body, &lax)
		for k := range lax {
			if !slices.Contains(execCreateFields, k) {
				t.Fatalf("allowed key %q", k)
			}
		}
		if !utf8.Valid(body) {
			t.Fatal("allowed invalid UTF-8")
		}
		for _, o := range []container.ExecOptions{container.ExecOptions(opts), daemon} {
			if len(o.Cmd) == 0 || CheckCommand(nil, o.Cmd) != nil ||
				o.Privileged || o.User != "" || o.WorkingDir != "" {
				t.Fatalf("allowed %+v", o)
			}
			for _, kv := range o.Env {
				name, _, _ := strings.Cut(strings.ToUpper(kv), "=")
				for _, bad := range []string{"PATH", "LD_PRELOAD", "HOME", "OAUTH_CLIENT_ID", "HTTPS_PROXY"} {
					if name == bad {
						t.Fatalf("allowed env %q", kv)
					}
				}
			}
		}
	})
}

func FuzzDecodeExecStart(f *testing.F) {
	f.Add([]byte(startBody))
	f.Add([]byte(`{"Detach":true,"Tty":true,"ConsoleSize":[1,2]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := decodeExecStart(body); err == nil {
			var lax map[string]json.RawMessage
			if err := json.Unmarshal(body, &lax); err != nil {
				t.Fatalf("allowed a body that is not an object: %v", err)
			}
			for k := range lax {
				if !slices.Contains(execStartFields, k) {
					t.Fatalf("allowed key %q", k)
				}
			}
		}
	})
}

func mustDefaults(tb testing.TB) Config {
	cfg, err := Config{Upstream: "/nonexistent"}.withDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}
