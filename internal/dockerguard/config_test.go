package dockerguard

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

func TestParseCommands(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"  , ", nil, false},
		{"sidecar", []string{"sidecar"}, false},
		{"sidecar tgauth", []string{"sidecar", "tgauth"}, false},
		{"sidecar,tgauth", []string{"sidecar", "tgauth"}, false},
		{" sidecar ,\ttgauth, ", []string{"sidecar", "tgauth"}, false},
		{"sidecar /bin/sh", nil, true},
		{"../sidecar", nil, true},
		{"..", nil, true},
		{`a\b`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCommands(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("ParseCommands(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no upstream", Config{}},
		{"empty allowlist", Config{Upstream: "/x", AllowCommands: []string{}}},
		{"path in allowlist", Config{Upstream: "/x", AllowCommands: []string{"/bin/sh"}}},
		{"path in run tools", Config{Upstream: "/x", RunTools: []string{"/usr/bin/gh"}}},
		{"empty run tool", Config{Upstream: "/x", RunTools: []string{""}}},
		{"project with =", Config{Upstream: "/x", Project: "a=b"}},
		{"empty protected entry", Config{Upstream: "/x", ProtectedEnvPrefixes: []string{""}}},
		{"sidecar serve", Config{Upstream: "/x", AllowCommands: []string{"sidecar:serve"}}},
		{"run tool with a subcommand", Config{Upstream: "/x", RunTools: []string{"gh:api"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted an invalid Config")
			}
		})
	}
	g, err := New(Config{Upstream: "/x", Project: "p", Service: "s", AllowCommands: []string{"only"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.hint != "docker exec p-s-1 only ..." {
		t.Errorf("hint %q", g.hint)
	}
}

// TestExecCreateFieldsMatchType fails when the Docker API type gains a
// field: decide whether the guard must check it, then add it to the list.
func TestExecCreateFieldsMatchType(t *testing.T) {
	for _, c := range []struct {
		typ    reflect.Type
		fields []string
	}{
		{reflect.TypeFor[container.ExecOptions](), execCreateFields},
		{reflect.TypeFor[container.ExecStartOptions](), execStartFields},
	} {
		var names []string
		for f := range c.typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
		}
		if !slices.Equal(names, c.fields) {
			t.Errorf("%s has fields %q, the guard knows %q", c.typ, names, c.fields)
		}
	}
	// The guard's own copies of the types must stay convertible: same
	// fields, same types, same order.
	for _, c := range []struct{ ours, theirs reflect.Type }{
		{reflect.TypeFor[execCreateBody](), reflect.TypeFor[container.ExecOptions]()},
		{reflect.TypeFor[execStartBody](), reflect.TypeFor[container.ExecStartOptions]()},
	} {
		if !c.ours.ConvertibleTo(c.theirs) {
			t.Errorf("%s no longer matches %s", c.ours, c.theirs)
		}
		for i := range c.ours.NumField() {
			if c.ours.Field(i).Tag != c.theirs.Field(i).Tag {
				t.Errorf("%s.%s: tag %q, the API type has %q", c.ours, c.ours.Field(i).Name, c.ours.Field(i).Tag, c.theirs.Field(i).Tag)
			}
		}
	}
}

func TestProtectedEnv(t *testing.T) {
	p := newExecPolicy(mustDefaults(t))
	for _, kv := range []string{
		"OAUTH_CLIENT_ID=x", "oauth_client_id=x", "SIDECAR_STATE_DIR=/tmp", "TELEGRAM_BOT_TOKEN=x",
		"XDG_CONFIG_HOME=/tmp", "PATH=/tmp", "Path", "HOME=/", "LD_PRELOAD=x", "LD_LIBRARY_PATH=x",
		"GODEBUG=x", "SSL_CERT_FILE=x", "SSL_CERT_DIR=x", "HTTPS_PROXY=x", "http_proxy=x", "All_Proxy=x",
		"NO_PROXY=*", "TMPDIR=/x",
	} {
		if err := p.checkEnv(kv); err == nil {
			t.Errorf("%q allowed", kv)
		}
	}
	for _, kv := range []string{"TERM=xterm", "LANG=C.UTF-8", "OAUTH=1", "MY_PATH=/x", "SIDECAR=1", "X=", "NOPROXY=1"} {
		if err := p.checkEnv(kv); err != nil {
			t.Errorf("%q denied: %v", kv, err)
		}
	}
}

func TestExecSet(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newExecSet(3, time.Minute, func() time.Time { return now })
	s.add("a")
	now = now.Add(10 * time.Second)
	s.add("b")
	now = now.Add(10 * time.Second)
	s.add("c")
	if !s.use("a") { // refreshes a; b is now the least recently used
		t.Fatal("a unknown")
	}
	s.add("d")
	if s.len() != 3 || s.use("b") || !s.use("c") || !s.use("d") {
		t.Errorf("after eviction: len %d, want a, c, d", s.len())
	}
	now = now.Add(time.Minute)
	if s.use("a") || s.use("unknown") {
		t.Error("expired or unknown ID accepted")
	}
}

func TestListen(t *testing.T) {
	dir := shortTempDir(t)
	path := filepath.Join(dir, "g.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, %v", fi.Mode(), err)
	}
	if _, err := Listen(path); err == nil {
		t.Error("Listen took over a socket in use")
	}
	// A crashed guard leaves its socket file behind.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l, err = Listen(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l.Close()

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file); err == nil {
		t.Error("Listen removed a regular file")
	}
}

func TestRedactInspect(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"Id":"x","Config":{"Env":["A=secret"],"Tty":false},"Extra":{"K":1}}`, `{"Config":{"Env":[],"Tty":false},"Extra":{"K":1},"Id":"x"}`},
		{`{"Id":"x","Config":null}`, `{"Id":"x","Config":null}`},
		{`{"Id":"x"}`, `{"Id":"x"}`},
	}
	for _, tt := range tests {
		got, err := redactInspect([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("redactInspect(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := redactInspect([]byte(`[]`)); err == nil {
		t.Error("non-object accepted")
	}
}

func TestLogRecordsPeerAndNoSecrets(t *testing.T) {
	env := newTestEnv(t)
	env.createExec(t, execWith(`{"Cmd":["sidecar","login","--token","hunter2"],"Env":["LANG=hunter2"]}`))
	env.do(t, rawRequest("POST", "/containers/myapp-sidecar-1/exec", execWith(`{"Env":["OAUTH_CLIENT_SECRET=hunter2"]}`)))
	logs := env.logs.String()
	want := []string{`"command":"sidecar"`, `"reason":"environment variable OAUTH_CLIENT_SECRET is protected"`}
	if runtime.GOOS == "linux" {
		want = append(want, `"peer_uid":`+strconv.Itoa(os.Getuid()), `"peer_pid":`+strconv.Itoa(os.Getpid()))
	}
	for _, want := range want {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	// newTestEnv's cleanup fails the test if "hunter2" is in the log.
}

func TestSidecarRunTool(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"gh"}, "gh", ""},
		{[]string{"gh", "--profile", "x"}, "gh", ""},
		{[]string{"--", "gh"}, "gh", ""},
		{[]string{"--", "--profile"}, "--profile", ""},
		{[]string{"-"}, "-", ""},
		{[]string{""}, "", ""},
		{[]string{"--profile", "p", "gh"}, "gh", ""},
		{[]string{"-profile", "p", "gh"}, "gh", ""},
		{[]string{"--profile=p", "gh"}, "gh", ""},
		{[]string{"--profile=", "gh"}, "gh", ""},
		{[]string{"--profile", "--", "sh"}, "sh", ""},
		{[]string{"--profile", "-h", "sh"}, "sh", ""},
		{[]string{"--env", "A", "--env=B", "-min-ttl", "1m", "--", "gh"}, "gh", ""},
		{[]string{"--min-ttl=x", "gh"}, "gh", ""}, // sidecar then refuses the duration
		{[]string{"--scope", "https://management.azure.com/.default", "--", "az"}, "az", ""},
		{[]string{"--scope=a b", "sh"}, "sh", ""},
		{nil, "", "no program to run"},
		{[]string{"--profile", "p"}, "", "no program to run"},
		{[]string{"--"}, "", "no program after --"},
		{[]string{"--profile"}, "", "needs a value"},
		{[]string{"---profile", "p", "gh"}, "", "bad flag syntax"},
		{[]string{"-=x", "gh"}, "", "bad flag syntax"},
		{[]string{"--=x", "gh"}, "", "bad flag syntax"},
		{[]string{"--Profile", "p", "gh"}, "", "unknown flag"},
		{[]string{"--exec", "sh"}, "", "unknown flag"},
		{[]string{"-h"}, "", "help"},
		{[]string{"--help", "gh"}, "", "help"},
		{[]string{"-help=1", "gh"}, "", "help"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := SidecarRunTool(tt.args)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("SidecarRunTool(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SidecarRunTool(%q) = %q, %v; want an error with %q", tt.args, got, err, tt.wantErr)
			}
		})
	}
}

func TestRunPolicy(t *testing.T) {
	run := func(env []string, cmd ...string) execCreateBody {
		return execCreateBody{Cmd: cmd, Env: env}
	}
	tests := []struct {
		name     string
		runTools []string
		opts     execCreateBody
		deny     string // "" allows
	}{
		{"listed tool", []string{"gh"}, run(nil, "sidecar", "run", "--", "gh", "issue", "list"), ""},
		{"no tools listed", nil, run(nil, "sidecar", "run", "--", "gh"), "no tools are allowed"},
		{"empty list", []string{}, run(nil, "sidecar", "run", "gh"), "no tools are allowed"},
		{"unlisted", []string{"gh"}, run(nil, "sidecar", "run", "--", "sh"), `program "sh" is not allowed`},
		{"environment", []string{"gh"}, run([]string{"GH_HOST=x"}, "sidecar", "run", "gh"), "environment"},
		{"empty environment", []string{"gh"}, run([]string{}, "sidecar", "run", "gh"), ""},
		{"other subcommand", nil, run(nil, "sidecar", "token"), ""},
		{"other subcommand with environment", nil, run([]string{"TERM=x"}, "sidecar", "status"), ""},
		{"bare sidecar", nil, run(nil, "sidecar"), "sidecar without a subcommand"},
		{"tgauth run is not sidecar run", nil, run(nil, "tgauth", "run", "sh"), ""},
		{"RUN is not run", nil, run(nil, "sidecar", "RUN", "sh"), `sidecar "RUN" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustDefaults(t)
			cfg.RunTools = tt.runTools
			err := newExecPolicy(cfg).check(tt.opts)
			switch {
			case tt.deny == "" && err != nil:
				t.Errorf("denied: %v", err)
			case tt.deny != "" && (err == nil || !strings.Contains(err.Error(), tt.deny)):
				t.Errorf("got %v, want a denial with %q", err, tt.deny)
			}
		})
	}
}

func TestCommandTable(t *testing.T) {
	tests := []struct {
		name    string
		allow   []string // nil: the default
		cmd     []string
		deny    string // "" allows
		wantErr string // a configuration error
	}{
		{"default sidecar token", nil, []string{"sidecar", "token"}, "", ""},
		{"default sidecar run", nil, []string{"sidecar", "run", "gh"}, "", ""},
		{"default sidecar api", nil, []string{"sidecar", "api", "/me"}, "", ""},
		{"default sidecar status", nil, []string{"sidecar", "status", "--all"}, "", ""},
		{"default sidecar login", nil, []string{"sidecar", "login"}, "", ""},
		{"default sidecar logout", nil, []string{"sidecar", "logout"}, "", ""},
		{"default sidecar audit", nil, []string{"sidecar", "audit"}, "", ""},
		{"default sidecar version", nil, []string{"sidecar", "version"}, "", ""},
		{"default tgauth", nil, []string{"tgauth"}, "", ""},
		{"default tgauth with flags", nil, []string{"tgauth", "--force"}, "", ""},
		{"default serve", nil, []string{"sidecar", "serve"}, "never allowed", ""},
		{"default guard", nil, []string{"sidecar", "guard"}, "never allowed", ""},
		{"default health", nil, []string{"sidecar", "health"}, "never allowed", ""},
		{"default keygen", nil, []string{"sidecar", "keygen"}, "never allowed", ""},
		{"default approvals", nil, []string{"sidecar", "approvals"}, "never allowed", ""},
		{"default doctor", nil, []string{"sidecar", "doctor"}, "never allowed", ""},
		{"default internal", nil, []string{"sidecar", "__refresh"}, "never allowed", ""},
		{"default bare sidecar", nil, []string{"sidecar"}, "without a subcommand", ""},
		{"default sh", nil, []string{"sh"}, `command "sh" is not allowed`, ""},
		{"bare sidecar is the agent table", []string{"sidecar"}, []string{"sidecar", "api"}, "", ""},
		{"bare sidecar still no serve", []string{"sidecar"}, []string{"sidecar", "serve"}, "never allowed", ""},
		{"bare sidecar no tgauth", []string{"sidecar"}, []string{"tgauth"}, `command "tgauth" is not allowed`, ""},
		{"narrowed", []string{"sidecar:status", "sidecar:api"}, []string{"sidecar", "api"}, "", ""},
		{"narrowed refuses token", []string{"sidecar:status", "sidecar:api"}, []string{"sidecar", "token"}, `sidecar "token" is not allowed (allowed: status, api)`, ""},
		{"narrowed refuses run", []string{"sidecar:status"}, []string{"sidecar", "run", "gh"}, `sidecar "run" is not allowed`, ""},
		{"other program any args", []string{"mytool"}, []string{"mytool", "serve"}, "", ""},
		{"other program by subcommand", []string{"mytool:list"}, []string{"mytool", "list", "-a"}, "", ""},
		{"other program other subcommand", []string{"mytool:list"}, []string{"mytool", "rm"}, `mytool "rm" is not allowed`, ""},
		{"config serve", []string{"sidecar:serve"}, nil, "", "can never be allowed"},
		{"config guard", []string{"tgauth", "sidecar:guard"}, nil, "", "can never be allowed"},
		{"config health", []string{"sidecar:health"}, nil, "", "can never be allowed"},
		{"config approvals", []string{"sidecar:approvals"}, nil, "", "answer its own requests"},
		{"config keygen", []string{"sidecar:keygen"}, nil, "", "can never be allowed"},
		{"config doctor", []string{"sidecar:doctor"}, nil, "", "can never be allowed"},
		{"config internal", []string{"sidecar:__refresh"}, nil, "", "invalid entry"},
		{"config flag", []string{"sidecar:-h"}, nil, "", "invalid entry"},
		{"config unknown sidecar subcommand", []string{"sidecar:tokn"}, nil, "", `no subcommand "tokn"`},
		{"config empty subcommand", []string{"sidecar:"}, nil, "", "invalid entry"},
		{"config path", []string{"/usr/bin/sidecar:token"}, nil, "", "not a path"},
		{"config two colons", []string{"sidecar:token:x"}, nil, "", "invalid entry"},
		{"config empty", []string{}, nil, "", "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allow := tt.allow
			if allow == nil {
				allow = DefaultAllowCommands()
			}
			_, cfgErr := New(Config{Upstream: "/x", AllowCommands: allow})
			if tt.wantErr != "" {
				if cfgErr == nil || !strings.Contains(cfgErr.Error(), tt.wantErr) {
					t.Fatalf("New = %v, want an error with %q", cfgErr, tt.wantErr)
				}
				return
			}
			if cfgErr != nil {
				t.Fatal(cfgErr)
			}
			err := CheckCommand(tt.allow, tt.cmd)
			switch {
			case tt.deny == "" && err != nil:
				t.Errorf("denied: %v", err)
			case tt.deny != "" && (err == nil || !strings.Contains(err.Error(), tt.deny)):
				t.Errorf("got %v, want a denial with %q", err, tt.deny)
			}
		})
	}
}

// TestExecMarksAgent: every exec the guard lets through reaches the daemon
// with DEVICEGATE_CALLER=agent added and the rest of its Env kept.
func TestExecMarksAgent(t *testing.T) {
	env := newTestEnv(t)
	for _, body := range []string{
		execBody,
		execWith(`{"Env":["TERM=xterm","LANG=C"],"Cmd":["sidecar","api","/me"]}`),
		execWith(`{"Cmd":["sidecar","run","--","gh","pr","list"]}`),
		`{"Cmd":["tgauth"]}`,
	} {
		id := env.createExec(t, body)
		env.fake.mu.Lock()
		opts := env.fake.execs[id].opts
		env.fake.mu.Unlock()
		var sent container.ExecOptions
		_ = json.Unmarshal([]byte(body), &sent)
		want := append(sent.Env, "DEVICEGATE_CALLER=agent")
		if !slices.Equal(opts.Env, want) {
			t.Errorf("%s: daemon got Env %q, want %q", body, opts.Env, want)
		}
		if !slices.Equal(opts.Cmd, sent.Cmd) || opts.AttachStdout != sent.AttachStdout || opts.Tty != sent.Tty {
			t.Errorf("%s: daemon got %+v", body, opts)
		}
	}
}

func TestProtectedEnvNames(t *testing.T) {
	for _, n := range []string{"PATH", "path", "HTTPS_PROXY", "https_proxy", "OAUTH_TOKEN_URL", "oauth_x", "SIDECAR_CACHE_KEY", "TELEGRAM_BOT_TOKEN", "DEVICEGATE_CALLER", "GUARD_RUN_TOOLS", "LD_PRELOAD", "XDG_DATA_HOME", "HOME", "SSL_CERT_FILE", "GODEBUG", "NO_PROXY"} {
		if !ProtectedEnv(n) {
			t.Errorf("%s is not protected", n)
		}
	}
	for _, n := range []string{"GH_TOKEN", "AZURE_TOKEN", "PATHX", "HOMEDIR", "MY_OAUTH", "ACCESS_TOKEN"} {
		if ProtectedEnv(n) {
			t.Errorf("%s is protected", n)
		}
	}
}
