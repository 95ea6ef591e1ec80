package skills

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/dockerguard"
)

// Keys OpenClaw's skill validator accepts in the frontmatter.
var allowedKeys = []string{"name", "description", "homepage", "user-invocable", "disable-model-invocation",
	"command-dispatch", "command-tool", "command-arg-mode", "license", "allowed-tools", "metadata"}

var nameRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

type skill struct {
	dir    string
	fields map[string]string
	body   string
}

func parse(t *testing.T, dir string) skill {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "SKILL.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "---\n") {
		t.Fatalf("%s: SKILL.md must start with --- frontmatter", dir)
	}
	front, body, ok := strings.Cut(text[4:], "\n---\n")
	if !ok {
		t.Fatalf("%s: unterminated frontmatter", dir)
	}
	s := skill{dir: dir, fields: map[string]string{}, body: body}
	for _, line := range strings.Split(front, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			t.Fatalf("%s: frontmatter line %q is not `key: value` on one line", dir, line)
		}
		if _, dup := s.fields[k]; dup {
			t.Fatalf("%s: key %q twice", dir, k)
		}
		v = strings.TrimSpace(v)
		if err := plainScalar(v); k != "metadata" && err != nil {
			t.Fatalf("%s: %s: %v (YAML parsers refuse it; OpenClaw's quick_validate.py does)", dir, k, err)
		}
		s.fields[k] = v
	}
	return s
}

// plainScalar checks that v reads as the same string under a strict YAML
// parser when written unquoted (YAML 1.2 §7.3.3 plain scalars): it must not
// start with an indicator character, and ": " would start a mapping and
// " #" a comment. scripts/skills-validate.sh runs OpenClaw's own validator
// (PyYAML); this catches the same mistakes without Python.
func plainScalar(v string) error {
	if v == "" {
		return nil
	}
	if strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`", rune(v[0])) {
		return fmt.Errorf("value starts with the YAML indicator %q: quote it or reword", v[0])
	}
	if strings.Contains(v, ": ") || strings.HasSuffix(v, ":") {
		return errors.New(`value contains ": ", which starts a YAML mapping: reword it`)
	}
	if strings.Contains(v, " #") {
		return errors.New(`value contains " #", which starts a YAML comment: reword it`)
	}
	return nil
}

func skillDirs(t *testing.T) []string {
	dirs, _ := filepath.Glob("*/SKILL.md")
	if len(dirs) < 3 {
		t.Fatalf("found %d skills, want at least auth, auth-status and one that uses the account", len(dirs))
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

// menuDescription is how much of a description Telegram's command menu
// shows.
const menuDescription = 70

// pluginCommands are the commands of openclaw/plugin.
var pluginCommands = []string{"auth", "auth_status", "logout"}

func TestSkillsFollowOpenClawRules(t *testing.T) {
	dirs := skillDirs(t)
	for _, want := range []string{"auth", "auth-status"} {
		if !slices.Contains(dirs, want) {
			t.Errorf("missing skill %q", want)
		}
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			s := parse(t, dir)
			for k := range s.fields {
				if !slices.Contains(allowedKeys, k) {
					t.Errorf("frontmatter key %q is not one OpenClaw accepts", k)
				}
			}
			name := s.fields["name"]
			if name != dir || !nameRe.MatchString(name) || len(name) > 64 {
				t.Errorf("name %q: must equal the folder and be lowercase letters, digits and single hyphens", name)
			}
			d := s.fields["description"]
			if d == "" || len(d) > 1024 || strings.ContainsAny(d, "<>") {
				t.Errorf("description must be 1-1024 characters without < or >: %q", d)
			}
			// Telegram's command menu shows about 70 characters.
			if n := utf8.RuneCountInString(d); n > menuDescription {
				t.Errorf("description is %d characters, more than the %d a Telegram menu shows: %q", n, menuDescription, d)
			}
			// The devicegate plugin owns these commands; a user-invocable
			// skill of the same name would take them over as a model turn.
			if slices.Contains(pluginCommands, strings.ReplaceAll(name, "-", "_")) && s.fields["user-invocable"] != "false" {
				t.Errorf("/%s belongs to the devicegate plugin: the skill needs user-invocable: false", strings.ReplaceAll(name, "-", "_"))
			}
			var meta struct {
				OpenClaw struct {
					Requires struct {
						Bins []string `json:"bins"`
					} `json:"requires"`
				} `json:"openclaw"`
			}
			if err := json.Unmarshal([]byte(s.fields["metadata"]), &meta); err != nil {
				t.Fatalf("metadata is not a JSON object: %v", err)
			}
			if !slices.Contains(meta.OpenClaw.Requires.Bins, "docker") {
				t.Error(`metadata.openclaw.requires.bins must list "docker"`)
			}
		})
	}
}

// Every command a skill tells the agent to run must get through the guard:
// docker exec into myapp-sidecar-1, an allowed first word, and none of the
// options the guard refuses (another user, privileges, env overrides).
func TestSkillCommandsAreAllowedByTheGuard(t *testing.T) {
	total, runs := 0, 0
	for _, dir := range skillDirs(t) {
		s := parse(t, dir)
		for _, line := range commands(s.body) {
			total++
			args := strings.Fields(strings.TrimPrefix(line, "docker exec "))
			for len(args) > 0 && strings.HasPrefix(args[0], "-") {
				switch args[0] {
				case "-i", "-t", "-it", "-ti", "--interactive", "--tty":
				default:
					t.Errorf("%s: docker exec option %s is not one the guard lets through: %q", dir, args[0], line)
				}
				args = args[1:]
			}
			if len(args) < 2 || args[0] != "myapp-sidecar-1" {
				t.Errorf("%s: not an exec into myapp-sidecar-1: %q", dir, line)
				continue
			}
			if err := dockerguard.CheckCommand(nil, args[1:]); err != nil {
				t.Errorf("%s: the guard refuses %q: %v", dir, line, err)
			}
			// sidecar run: the guard must read the same program from the
			// command line (gh, which the README's example allows).
			if len(args) > 2 && args[1] == "sidecar" && args[2] == "run" {
				runs++
				if tool, err := dockerguard.SidecarRunTool(args[3:]); err != nil || tool != "gh" {
					t.Errorf("%s: the guard reads program %q (%v) from %q, want gh", dir, tool, err, line)
				}
			}
		}
	}
	if total < 4 || runs < 1 {
		t.Fatalf("only %d docker exec commands found, %d of sidecar run: the check would prove little", total, runs)
	}
}

var inlineExec = regexp.MustCompile("`(docker exec [^`]*)`")

// commands returns the docker exec commands of a skill: lines of fenced
// code blocks and inline code spans.
func commands(body string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			if strings.HasPrefix(trimmed, "docker exec ") {
				out = append(out, trimmed)
			}
			continue
		}
		for _, m := range inlineExec.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

func TestPlainScalar(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"Sign the owner in via Telegram; /auth NAME means --profile NAME", true},
		{"Use the owner's account, its API (mail, repos, …) or their CLI (gh)", true},
		{"Use the owner's account: its API", false},
		{"ends with a colon:", false},
		{"a comment # here", false},
		{"- a list", false},
		{`"quoted"`, false},
		{"time 10:30 is fine", true},
	} {
		if err := plainScalar(tc.v); (err == nil) != tc.ok {
			t.Errorf("plainScalar(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
}
