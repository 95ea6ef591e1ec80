package dockerguard

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// fakeDaemon is a Docker daemon that knows just enough of the Engine API for
// "docker exec": ping, version, container list and inspect, exec create,
// start (hijacked), resize and inspect. It records every request it sees.
type fakeDaemon struct {
	sock string

	mu         sync.Mutex
	seen       []string // "METHOD /path?query"
	containers []fakeContainer
	execs      map[string]*fakeExec
	resizes    []string
}

type fakeContainer struct {
	ID, Name string
	Labels   map[string]string
	Env      []string
}

type fakeExec struct {
	containerID string
	opts        container.ExecOptions
	exitCode    int
	ran         bool
}

const (
	sidecarID  = "5c1dec0ffee0000000000000000000000000000000000000000000000000001a"
	agentID    = "a9e4700000000000000000000000000000000000000000000000000000000002"
	otherID    = "07e2000000000000000000000000000000000000000000000000000000000003"
	decoyID    = "dec0000000000000000000000000000000000000000000000000000000000004"
	imageRunID = "1a6e000000000000000000000000000000000000000000000000000000000005"
	oneoffID   = "0e0f000000000000000000000000000000000000000000000000000000000006"
	secretEnv  = "OAUTH_CLIENT_SECRET=hunter2-secret"
)

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	f := &fakeDaemon{
		sock: filepath.Join(shortTempDir(t), "docker.sock"),
		containers: []fakeContainer{
			{ID: sidecarID, Name: "myapp-sidecar-1", Env: []string{secretEnv, "PATH=/usr/local/bin:/usr/bin"},
				Labels: map[string]string{labelProject: "myapp", labelService: "sidecar", labelOneoff: "False"}},
			{ID: agentID, Name: "myapp-openclaw-1",
				Labels: map[string]string{labelProject: "myapp", labelService: "openclaw", labelOneoff: "False"}},
			{ID: otherID, Name: "other-sidecar-1",
				Labels: map[string]string{labelProject: "other", labelService: "sidecar", labelOneoff: "False"}},
			// Run from the sidecar image: the labels Compose wrote into
			// the image, and none of those it puts on service containers.
			{ID: imageRunID, Name: "keygen",
				Labels: map[string]string{labelProject: "myapp", labelService: "sidecar"}},
			// `docker compose run sidecar ...`
			{ID: oneoffID, Name: "myapp-sidecar-run-0e0f",
				Labels: map[string]string{labelProject: "myapp", labelService: "sidecar", labelOneoff: "True"}},
			// Named like a prefix of the sidecar's ID: the daemon resolves
			// names before prefixes, so "5c1d" is this container upstream.
			{ID: decoyID, Name: "5c1d"},
		},
		execs: make(map[string]*fakeExec),
	}
	l, err := net.Listen("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f
}

// shortTempDir is a temporary directory with a path short enough for a unix
// socket (108 bytes), which t.TempDir() is not for long test names.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "dg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func (f *fakeDaemon) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// addExec creates an exec directly, as another client of the real socket
// would, and returns its ID.
func (f *fakeDaemon) addExec(containerID string, opts container.ExecOptions) string {
	id := randomID()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs[id] = &fakeExec{containerID: containerID, opts: opts}
	return id
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

func (f *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	line := r.Method + " " + r.URL.Path
	if r.UserAgent() == lookupUserAgent {
		line = "lookup: " + line
	}
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	f.seen = append(f.seen, line)
	f.mu.Unlock()

	w.Header().Set("Api-Version", "1.51")
	w.Header().Set("Ostype", "linux")
	path := versionPrefix.ReplaceAllString(r.URL.Path, "/")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/_ping":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "OK")
	case path == "/version":
		writeJSON(w, http.StatusOK, map[string]string{
			"Version": "28.5.2", "ApiVersion": "1.51", "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64",
		})
	case r.Method == http.MethodGet && path == "/containers/json":
		f.list(w, r)
	case len(segs) == 3 && segs[0] == "containers" && segs[2] == "json":
		c, ok := f.lookup(segs[1])
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such container: " + segs[1]})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"Id": c.ID, "Name": "/" + c.Name, "State": map[string]any{"Status": "running", "Running": true},
			"Config": map[string]any{"Env": c.Env, "Labels": c.Labels, "Image": "example/sidecar"},
		})
	case len(segs) == 3 && segs[0] == "containers" && segs[2] == "exec":
		c, ok := f.lookup(segs[1])
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such container: " + segs[1]})
			return
		}
		var opts container.ExecOptions
		if err := json.NewDecoder(r.Body).Decode(&opts); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"Id": f.addExec(c.ID, opts)})
	case len(segs) == 3 && segs[0] == "exec":
		f.mu.Lock()
		e := f.execs[segs[1]]
		f.mu.Unlock()
		if e == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such exec instance: " + segs[1]})
			return
		}
		switch segs[2] {
		case "start":
			f.start(w, r, e)
		case "resize":
			f.mu.Lock()
			f.resizes = append(f.resizes, r.URL.RawQuery)
			f.mu.Unlock()
			w.WriteHeader(http.StatusOK)
		case "json":
			f.mu.Lock()
			defer f.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{
				"ID": segs[1], "ContainerID": e.containerID, "Running": false, "ExitCode": e.exitCode, "Pid": 42,
			})
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeDaemon) list(w http.ResponseWriter, r *http.Request) {
	var filters map[string]map[string]bool
	if s := r.URL.Query().Get("filters"); s != "" {
		if err := json.Unmarshal([]byte(s), &filters); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
	}
	out := []map[string]any{}
	for _, c := range f.containers {
		match := true
		for kv := range filters["label"] {
			k, v, _ := strings.Cut(kv, "=")
			match = match && c.Labels[k] == v
		}
		for name := range filters["name"] {
			match = match && strings.Contains(c.Name, name)
		}
		if match {
			out = append(out, map[string]any{
				"Id": c.ID, "Names": []string{"/" + c.Name}, "Labels": c.Labels, "State": "running",
			})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// lookup resolves a reference the way the daemon does: full ID, then name,
// then unique ID prefix.
func (f *fakeDaemon) lookup(ref string) (fakeContainer, bool) {
	for _, c := range f.containers {
		if c.ID == ref {
			return c, true
		}
	}
	for _, c := range f.containers {
		if c.Name == strings.TrimPrefix(ref, "/") {
			return c, true
		}
	}
	var found []fakeContainer
	for _, c := range f.containers {
		if strings.HasPrefix(c.ID, ref) {
			found = append(found, c)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return fakeContainer{}, false
}

// start behaves like the daemon's exec start: detached starts answer 200;
// otherwise the connection is hijacked and carries the process's streams.
//
// The fake process prints "out: <cmd>" on stdout and "err: <cmd>" on
// stderr, then echoes stdin until EOF (or, with a TTY, until ^D), prints
// "stdin closed" and exits. "fail" as an argument makes it exit 3.
func (f *fakeDaemon) start(w http.ResponseWriter, r *http.Request, e *fakeExec) {
	var opts container.ExecStartOptions
	if err := json.NewDecoder(r.Body).Decode(&opts); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	f.mu.Lock()
	if e.ran {
		f.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]string{"message": "exec already started"})
		return
	}
	e.ran = true
	for _, a := range e.opts.Cmd {
		if a == "fail" {
			e.exitCode = 3
		}
	}
	f.mu.Unlock()
	if opts.Detach {
		w.WriteHeader(http.StatusOK)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	if _, ok := r.Header["Upgrade"]; ok {
		ct := "application/vnd.docker.raw-stream"
		if !e.opts.Tty {
			ct = "application/vnd.docker.multiplexed-stream"
		}
		fmt.Fprintf(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", ct)
	} else {
		fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
	}
	var stdout, stderr io.Writer = conn, conn
	if !e.opts.Tty {
		stdout = stdcopy.NewStdWriter(conn, stdcopy.Stdout)
		stderr = stdcopy.NewStdWriter(conn, stdcopy.Stderr)
	}
	cmd := strings.Join(e.opts.Cmd, " ")
	fmt.Fprintf(stdout, "out: %s\n", cmd)
	fmt.Fprintf(stderr, "err: %s\n", cmd)
	if e.opts.AttachStdin {
		in := io.Reader(buf.Reader)
		p := make([]byte, 4096)
		for {
			n, err := in.Read(p)
			if n > 0 {
				chunk := p[:n]
				eot := e.opts.Tty && strings.IndexByte(string(chunk), 4) >= 0
				if eot {
					chunk = chunk[:strings.IndexByte(string(chunk), 4)]
				}
				stdout.Write(chunk)
				if eot {
					break
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					return
				}
				break
			}
		}
		fmt.Fprint(stdout, "stdin closed\n")
	}
}
