package dockerguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/envname"
)

// execCreateFields are the JSON keys of container.ExecOptions, exactly as the
// Docker CLI sends them. TestExecCreateFieldsMatchType fails when a new
// docker/docker version adds a field, so that it gets a policy decision
// before it is accepted.
var execCreateFields = []string{
	"User", "Privileged", "Tty", "ConsoleSize",
	"AttachStdin", "AttachStderr", "AttachStdout",
	"DetachKeys", "Env", "WorkingDir", "Cmd", "Detach",
}

// execStartFields are the JSON keys of container.ExecStartOptions.
var execStartFields = []string{"Detach", "Tty", "ConsoleSize"}

// execCreateBody and execStartBody are the Docker API's
// container.ExecOptions and container.ExecStartOptions, field for field
// (TestExecCreateFieldsMatchType checks that they convert). They are
// copied rather than imported because the API types package links the
// image-spec and digest packages, whose registration work at init would
// slow every sidecar command, `sidecar token` included.
type execCreateBody struct {
	User         string
	Privileged   bool
	Tty          bool
	ConsoleSize  *[2]uint `json:",omitempty"`
	AttachStdin  bool
	AttachStderr bool
	AttachStdout bool
	DetachKeys   string
	Env          []string
	WorkingDir   string
	Cmd          []string
	Detach       bool
}

type execStartBody struct {
	Detach      bool
	Tty         bool
	ConsoleSize *[2]uint `json:",omitempty"`
}

// execPolicy decides which exec configurations may run in the sidecar.
type execPolicy struct {
	commands  commandTable
	runTools  []string // programs `sidecar run` may start
	protected []string // upper case
}

// newExecPolicy builds the policy of a Config that passed withDefaults.
func newExecPolicy(cfg Config) execPolicy {
	table, _ := parseCommandTable(cfg.AllowCommands) // checked by withDefaults
	p := execPolicy{commands: table, runTools: cfg.RunTools}
	for _, e := range cfg.ProtectedEnvPrefixes {
		p.protected = append(p.protected, strings.ToUpper(e))
	}
	return p
}

// decodeExecCreate decodes and checks the body of POST /containers/{id}/exec.
//
// The guard forwards the original bytes, so the daemon must read them exactly
// as we do. encoding/json matches keys case-insensitively and lets the last
// duplicate win; rather than rely on the daemon's decoder behaving the same
// forever, the body must be valid UTF-8 holding one JSON object whose keys
// are spelled exactly like the struct fields, each at most once. The Docker
// CLI's body (json.Marshal of container.ExecOptions) always satisfies this.
func (p execPolicy) decodeExecCreate(body []byte) (execCreateBody, error) {
	var opts execCreateBody
	if err := decodeStrict(body, execCreateFields, &opts); err != nil {
		return opts, err
	}
	return opts, p.check(opts)
}

// check applies the exec policy to a decoded exec configuration.
func (p execPolicy) check(opts execCreateBody) error {
	if len(opts.Cmd) == 0 {
		return denyf("exec without a command")
	}
	// Exact names only: "/usr/local/bin/sidecar" or "./sidecar" could name
	// another file, and a base-name match would let "/tmp/x/sidecar" through.
	// PATH is protected below, so the name resolves to the image's binary.
	if err := p.commands.allow(opts.Cmd); err != nil {
		return err
	}
	if opts.Privileged {
		return denyf("privileged exec")
	}
	if opts.User != "" {
		return denyf("exec as user %.32q (only the container's default user is allowed)", opts.User)
	}
	if opts.WorkingDir != "" {
		return denyf("exec with a working directory")
	}
	for _, kv := range opts.Env {
		if err := p.checkEnv(kv); err != nil {
			return err
		}
	}
	return p.checkRun(opts)
}

// markAgent returns opts with the caller mark added to its Env, after
// check passed: the mark is what makes the sidecar apply its policy.
func markAgent(opts execCreateBody) execCreateBody {
	opts.Env = append(slices.Clip(opts.Env), CallerVar+"="+CallerAgent)
	return opts
}

// checkEnv checks one Env entry. An entry without "=" is not harmless: the
// daemon treats "NAME" as "remove NAME", so the name is checked either way.
// Names must be portable shell names, which also keeps out look-alikes such
// as "PATH " or names with NUL bytes.
func (p execPolicy) checkEnv(kv string) error {
	name, _, _ := strings.Cut(kv, "=")
	if !envname.Valid(name) {
		return denyf("malformed environment variable name %.64q", name)
	}
	upper := strings.ToUpper(name)
	for _, prot := range p.protected {
		if upper == prot || strings.HasSuffix(prot, "_") && strings.HasPrefix(upper, prot) {
			return denyf("environment variable %s is protected", name)
		}
	}
	return nil
}

// decodeExecStart decodes the body of POST /exec/{id}/start.
func decodeExecStart(body []byte) (execStartBody, error) {
	var opts execStartBody
	err := decodeStrict(body, execStartFields, &opts)
	return opts, err
}

// decodeStrict decodes one JSON object into v, accepting only the given keys
// with their exact spelling, each once, and nothing after the object.
func decodeStrict(body []byte, fields []string, v any) error {
	if !utf8.Valid(body) {
		return badRequestf("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badRequestf("request body is not a JSON object")
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badRequestf("malformed JSON body")
		}
		key, _ := tok.(string)
		if !contains(fields, key) {
			return badRequestf("unknown field %.32q in request body", key)
		}
		if seen[key] {
			return badRequestf("duplicate field %q in request body", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return badRequestf("malformed JSON body")
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return badRequestf("malformed JSON body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequestf("trailing data after the JSON body")
	}
	strict := json.NewDecoder(bytes.NewReader(body))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return badRequestf("request body does not match the Docker API type: %.120s", err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// readBody reads a request body through http.MaxBytesReader, whatever its
// framing (Content-Length or chunked).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, badRequestf("reading request body: %v", err)
	}
	return b, nil
}
