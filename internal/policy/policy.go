// Package policy decides, per profile, what an agent may do with the
// owner's sign-in without asking: call the provider's API (`sidecar api`,
// by method and path), take the raw token out (`sidecar token`, and
// `sidecar run`, which gives it to a program), and sign the profile in or
// out (`sidecar login`, `sidecar logout`, `tgauth --force`).
//
// A policy is a list of rules, read from OAUTH_POLICY (OAUTH_<NAME>_POLICY
// for a named profile), separated by ";" or newlines; the first rule that
// matches decides:
//
//	allow GET /v1.0/me/**            API calls by method and path pattern
//	ask   POST,PATCH /v1.0/me/events/*
//	deny  write /v1.0/me/sendMail    read = GET HEAD OPTIONS, write = the rest, * = any
//	allow token                      the raw token (sidecar token)
//	ask   run gh                     sidecar run of one program (run alone: any)
//	allow run terraform with-token   ... given the raw token (a token export)
//	deny  signin                     signing in (sidecar login, tgauth over a sign-in)
//	ask   logout                     signing out (sidecar logout)
//
// After the owner's rules come the secure defaults: API reads are allowed,
// API writes ask, token export asks, run asks, signin and logout ask (an
// agent that signs the profile out and in again can put another account
// in place of the owner's).
//
// `sidecar run` gives a tool placeholders, not the token: each request it
// makes to the API is decided like an `api` call. Only a run rule that says
// with-token hands the tool the raw token; that is a token export, and so
// is every run of an aws profile (its tools hold role credentials). An
// export is decided by the run rule and by an explicit token rule, the
// stricter winning, and a rule set whose token rule denies what one of its
// run rules hands out is refused (CheckExport).
//
// A path pattern matches the
// request's path on the API host as sent (with the API's base path, e.g.
// /v1.0 at Microsoft Graph), case-insensitively, segment by segment: "*" is
// exactly one segment, "**" any number of them. A request outside the
// API's base URL is never allowed by the defaults: on the API's host but
// outside its base path (/beta/... next to /v1.0) only a rule that matches
// its path decides, else it asks; on another host (a URL-shaped --scope)
// only a rule that names the host (HOST/PATH, e.g.
// "allow GET management.azure.com/subscriptions/**") decides, else it asks. A path with dot segments, empty
// segments or an encoded "/" or "." is never allowed without asking: the
// server may read it differently from the pattern.
//
// The policy binds the agent, not the owner: it applies to commands the
// Docker guard let through (DEVICEGATE_CALLER=agent), not to the owner's
// own terminal.
package policy

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ErrRefused is the outcome of a request refused by the policy or by the
// owner: exit code 8. The agent must not retry it; it should tell the
// owner what it wanted to do.
var ErrRefused = errors.New("refused by policy or by the owner")

// Decision is what a rule says.
type Decision string

// Decisions.
const (
	Allow Decision = "allow"
	Ask   Decision = "ask"
	Deny  Decision = "deny"
)

// Actions a Request names.
const (
	ActionAPI   = "api"
	ActionToken = "token"
	ActionRun   = "run"
	// ActionSignIn and ActionLogout take nothing after them in a rule.
	ActionSignIn = "signin"
	ActionLogout = "logout"
)

// Request is what the agent wants.
type Request struct {
	Action string // ActionAPI, ActionToken, ActionRun, ActionSignIn or ActionLogout
	Method string // api: the HTTP method, upper case
	Host   string // api: the host the request goes to (host[:port])
	// OtherHost: the request goes to another host than the API's (a
	// URL-shaped --scope's resource). Only rules that name the host match
	// it, and by default it asks.
	OtherHost bool
	// OutsideBase: the request is on the API's host but outside its base
	// path (/beta/... when OAUTH_API_URL ends in /v1.0). Rules match its
	// path as sent; by default it asks, even a read.
	OutsideBase bool
	Path        string // api: the escaped path of the URL, without the query
	Program     string // run: the program
	// Export is true for a run that hands the tool credentials whatever
	// the rule says (aws role credentials): a token export.
	Export bool
}

// Verdict is the policy's answer to a Request.
type Verdict struct {
	Decision Decision
	// Rule is the rule that decided, as the owner wrote it, or for a
	// default the request itself ("ask POST /v1.0/me/events"): an "Allow
	// for 1 hour" covers the same rule, so a default grant never covers
	// more than the same call.
	Rule    string
	Default bool
	// WithToken is true when the run rule that matched says with-token:
	// the tool gets the raw token rather than placeholders.
	WithToken bool
}

// Policy is a parsed rule set. The zero Policy has only the defaults.
type Policy struct {
	rules []rule
}

type rule struct {
	text     string
	decision Decision
	action   string
	methods  []string // api: nil for any
	host     string   // api: the host a HOST/PATH pattern names, lower case; "" for the API's own
	pattern  []string // api: segments, "*" and "**" as wildcards
	program  string   // run: "" for any
	// withToken: run hands the tool the raw token (a token export).
	withToken bool
}

// withToken is the word that makes a run rule a token export.
const withToken = "with-token"

// Limits that keep a policy readable and its matching cheap.
const (
	maxRules    = 200
	maxRuleLen  = 512
	maxSegments = 64
)

var (
	readMethods  = []string{"GET", "HEAD", "OPTIONS"}
	writeMethods = []string{"POST", "PUT", "PATCH", "DELETE"}
)

// Error is a bad rule: N counts from 1 in the order written.
type Error struct {
	N    int
	Rule string
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("rule %d %.80q: %s", e.N, e.Rule, e.Msg) }

// Parse reads a rule set. An empty s is the defaults alone.
func Parse(s string) (*Policy, error) {
	p := &Policy{}
	n := 0
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
		text := strings.Join(strings.Fields(line), " ")
		if text == "" {
			continue
		}
		n++
		if n > maxRules {
			return nil, &Error{N: n, Rule: text, Msg: fmt.Sprintf("too many rules (at most %d)", maxRules)}
		}
		r, err := parseRule(text)
		if err != nil {
			return nil, &Error{N: n, Rule: text, Msg: err.Error()}
		}
		p.rules = append(p.rules, r)
	}
	if err := p.CheckExport(false); err != nil {
		return nil, err
	}
	return p, nil
}

// CheckExport refuses a rule set that denies token export by an explicit
// token rule yet lets a run rule hand a tool the raw token: with-token
// rules, or with everyRun (aws profiles, whose tools hold role
// credentials) every run rule that does not deny. The error names both
// rules.
func (p *Policy) CheckExport(everyRun bool) error {
	tv := p.decide(Request{Action: ActionToken}, nil)
	if tv.Decision != Deny || tv.Default {
		return nil
	}
	for i, r := range p.rules {
		if r.action != ActionRun || r.decision == Deny || !(r.withToken || everyRun) {
			continue
		}
		what := "hands the tool the raw token"
		if !r.withToken {
			what = "hands the tool role credentials (every aws run is a token export)"
		}
		return &Error{N: i + 1, Rule: r.text, Msg: fmt.Sprintf("%s, but %q denies token export: drop one of the two rules", what, tv.Rule)}
	}
	return nil
}

func parseRule(text string) (rule, error) {
	r := rule{text: text}
	if len(text) > maxRuleLen {
		return r, fmt.Errorf("longer than %d bytes", maxRuleLen)
	}
	f := strings.Fields(text)
	switch d := Decision(strings.ToLower(f[0])); d {
	case Allow, Ask, Deny:
		r.decision = d
	default:
		return r, fmt.Errorf("unknown decision %q: start with allow, ask or deny", f[0])
	}
	if len(f) < 2 {
		return r, errors.New("say what it is about: token, run [PROGRAM], signin, logout, or METHODS PATH (e.g. GET /v1.0/me/**)")
	}
	switch what := strings.ToLower(f[1]); {
	case what == ActionToken || what == ActionSignIn || what == ActionLogout:
		if len(f) != 2 {
			return r, fmt.Errorf("%s takes nothing after it", what)
		}
		r.action = what
	case what == ActionRun:
		r.action = ActionRun
		if len(f) > 2 && strings.ToLower(f[len(f)-1]) == withToken {
			if r.decision == Deny {
				return r, errors.New("with-token says how an allowed tool runs; a deny rule needs none")
			}
			r.withToken = true
			f = f[:len(f)-1]
		}
		switch len(f) {
		case 2:
		case 3:
			if f[2] != "*" {
				if strings.ContainsAny(f[2], "/\\*?") {
					return r, fmt.Errorf("run %s: name a program (as in GUARD_RUN_TOOLS), not a path or pattern", f[2])
				}
				r.program = f[2]
			}
		default:
			return r, errors.New("run takes at most one program name, then optionally with-token")
		}
	default:
		r.action = ActionAPI
		if len(f) != 3 {
			return r, errors.New("want METHODS PATH, e.g. allow GET /v1.0/me/** or ask POST,PATCH /repos/*/*/issues")
		}
		m, err := parseMethods(f[1])
		if err != nil {
			return r, err
		}
		r.methods = m
		pat := f[2]
		if !strings.HasPrefix(pat, "/") {
			// HOST/PATH: a rule for another host than the API's.
			host, path, ok := strings.Cut(pat, "/")
			if !ok || !validHost(host) {
				return r, fmt.Errorf("path %q must start with / (the API's host) or HOST/ (another host, e.g. management.azure.com/subscriptions/**)", pat)
			}
			r.host, pat = strings.ToLower(host), "/"+path
		}
		if r.pattern, err = parsePattern(pat); err != nil {
			return r, err
		}
	}
	return r, nil
}

// validHost accepts a DNS name or IP literal with an optional port: what a
// URL's host may hold, without user info.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return strings.Contains(h, ".") || strings.Contains(h, ":") || h == "localhost"
}

func parseMethods(s string) ([]string, error) {
	switch strings.ToLower(s) {
	case "*", "any":
		return nil, nil
	case "read":
		return readMethods, nil
	case "write":
		return writeMethods, nil
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.ToUpper(m)
		if !slices.Contains(readMethods, m) && !slices.Contains(writeMethods, m) {
			return nil, fmt.Errorf("unknown method %q: use GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE (comma separated), read, write or *", m)
		}
		out = append(out, m)
	}
	return out, nil
}

// parsePattern splits a path pattern into lower-case segments.
func parsePattern(s string) ([]string, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("path %q must start with /", s)
	}
	if strings.ContainsAny(s, "?#") {
		return nil, fmt.Errorf("path %q: patterns match the path only, without ? or #", s)
	}
	if s == "/" {
		return []string{}, nil
	}
	segs := strings.Split(strings.TrimSuffix(s[1:], "/"), "/")
	if len(segs) > maxSegments {
		return nil, fmt.Errorf("path %q has more than %d segments", s, maxSegments)
	}
	for i, seg := range segs {
		switch {
		case seg == "":
			return nil, fmt.Errorf("path %q has an empty segment", s)
		case seg == "." || seg == "..":
			return nil, fmt.Errorf("path %q: no . or .. segments", s)
		case seg != "*" && seg != "**" && strings.Contains(seg, "*"):
			return nil, fmt.Errorf("path %q: * stands for a whole segment (/*/ or /**/), not part of one", s)
		}
		if u, err := url.PathUnescape(seg); err != nil {
			return nil, fmt.Errorf("path %q: bad escape in %q", s, seg)
		} else {
			segs[i] = strings.ToLower(u)
		}
	}
	return segs, nil
}

// String returns the rules, one per line, as they were written.
func (p *Policy) String() string {
	var b strings.Builder
	for _, r := range p.rules {
		b.WriteString(r.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// Decide returns the verdict for req: the first rule that matches, or the
// default. A path the server may resolve differently (dot or empty
// segments, encoded separators) is decided both as written and as resolved,
// the stricter verdict wins, and it is never allowed without asking.
func (p *Policy) Decide(req Request) Verdict {
	switch req.Action {
	case ActionRun:
		v := p.decide(req, nil)
		if v.WithToken || req.Export {
			// A token export: an explicit token rule stricter than the
			// run rule wins.
			if t := p.decide(Request{Action: ActionToken}, nil); !t.Default && strictness(t.Decision) > strictness(v.Decision) {
				t.WithToken = v.WithToken
				return t
			}
		}
		return v
	case ActionToken:
		return p.decide(req, nil)
	}
	if req.Action != ActionAPI {
		return p.decide(req, nil)
	}
	segs, canonical := pathSegments(req.Path)
	v := p.decide(req, segs)
	if canonical {
		return v
	}
	if r := p.decide(req, resolve(segs)); strictness(r.Decision) > strictness(v.Decision) {
		v = r
	}
	if v.Decision == Allow {
		v = Verdict{Decision: Ask, Rule: "ask " + req.Method + " " + req.Path + " (a path the server may read differently)", Default: true}
	}
	return v
}

func (p *Policy) decide(req Request, segs []string) Verdict {
	if p != nil {
		for _, r := range p.rules {
			if r.match(req, segs) {
				return Verdict{Decision: r.decision, Rule: r.text, WithToken: r.withToken}
			}
		}
	}
	return defaultVerdict(req)
}

func strictness(d Decision) int {
	switch d {
	case Allow:
		return 0
	case Ask:
		return 1
	}
	return 2
}

// resolve removes empty and "." segments and applies ".." ones, splitting
// segments that hold an (encoded) slash or backslash first: the path as a
// lenient server would resolve it.
func resolve(segs []string) []string {
	var out []string
	for _, s := range segs {
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
			switch part {
			case ".":
			case "..":
				if len(out) > 0 {
					out = out[:len(out)-1]
				}
			default:
				out = append(out, part)
			}
		}
	}
	return out
}

func defaultVerdict(req Request) Verdict {
	switch req.Action {
	case ActionAPI:
		switch {
		case req.OtherHost:
			return Verdict{Decision: Ask, Rule: "ask " + req.Method + " " + req.Host + req.Path + " (another host than the API's)", Default: true}
		case req.OutsideBase:
			return Verdict{Decision: Ask, Rule: "ask " + req.Method + " " + req.Path + " (outside the API's base URL)", Default: true}
		}
		if slices.Contains(readMethods, req.Method) {
			return Verdict{Decision: Allow, Rule: "allow read (default)", Default: true}
		}
		return Verdict{Decision: Ask, Rule: "ask " + req.Method + " " + req.Path, Default: true}
	case ActionRun:
		if req.Program != "" {
			return Verdict{Decision: Ask, Rule: "ask run " + req.Program, Default: true}
		}
		return Verdict{Decision: Ask, Rule: "ask run", Default: true}
	case ActionToken:
		return Verdict{Decision: Ask, Rule: "ask token", Default: true}
	case ActionSignIn:
		return Verdict{Decision: Ask, Rule: "ask signin", Default: true}
	case ActionLogout:
		return Verdict{Decision: Ask, Rule: "ask logout", Default: true}
	}
	return Verdict{Decision: Deny, Rule: "deny (unknown action)", Default: true}
}

func (r rule) match(req Request, segs []string) bool {
	if r.action != req.Action {
		return false
	}
	switch r.action {
	case ActionRun:
		return r.program == "" || r.program == req.Program
	case ActionAPI:
		if r.methods != nil && !slices.Contains(r.methods, req.Method) {
			return false
		}
		// A rule names the API's host (a plain /PATH) or another one
		// (HOST/PATH); it never matches the other.
		if req.OtherHost != (r.host != "") || r.host != "" && !strings.EqualFold(r.host, req.Host) {
			return false
		}
		return matchSegments(r.pattern, segs)
	}
	return true
}

// pathSegments splits an escaped URL path into unescaped, lower-case
// segments. canonical is false when the server might resolve the path to
// another one than these segments name: dot or empty segments, an encoded
// slash, backslash or dot, or a bad escape.
func pathSegments(p string) (segs []string, canonical bool) {
	canonical = true
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return []string{}, true
	}
	p = strings.TrimSuffix(p, "/")
	raw := strings.Split(p, "/")
	segs = make([]string, 0, len(raw))
	for _, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			u, canonical = s, false
		}
		if u == "" || u == "." || u == ".." || strings.ContainsAny(u, "/\\") || u != s && strings.ContainsRune(u, '.') && !strings.ContainsRune(s, '.') {
			canonical = false
		}
		segs = append(segs, strings.ToLower(u))
	}
	return segs, canonical
}

// matchSegments matches path segments against a pattern: "*" one segment,
// "**" zero or more. Dynamic programming over (pattern, path) positions, so
// that no pattern can make matching slow, however many "**" it has.
func matchSegments(pat, segs []string) bool {
	// ok[j]: pat[:i] matches segs[:j], for the current i.
	ok := make([]bool, len(segs)+1)
	ok[0] = true
	for _, p := range pat {
		next := make([]bool, len(segs)+1)
		switch p {
		case "**":
			any := false
			for j := range ok {
				any = any || ok[j]
				next[j] = any
			}
		default:
			for j := 1; j <= len(segs); j++ {
				next[j] = ok[j-1] && (p == "*" || segs[j-1] == p)
			}
		}
		ok = next
	}
	return ok[len(segs)]
}

// Refused is the error of a refused request: it wraps ErrRefused.
type Refused struct {
	Action string // what was refused, e.g. "POST /v1.0/me/sendMail"
	Reason string // "policy", "deny", "timeout", "no_listener", ...
	Rule   string
}

func (e *Refused) Error() string {
	switch e.Reason {
	case "policy":
		return fmt.Sprintf("%s is refused by the policy (rule %q)", e.Action, e.Rule)
	case "no_listener":
		return fmt.Sprintf("%s needs the owner's approval (rule %q), and approvals are off: no gatekeeper bot listens and nobody runs sidecar approvals", e.Action, e.Rule)
	case "timeout":
		return fmt.Sprintf("%s: the owner did not answer in time", e.Action)
	case "deny":
		return fmt.Sprintf("%s: the owner said no", e.Action)
	}
	return fmt.Sprintf("%s was not approved (%s)", e.Action, e.Reason)
}

// Unwrap makes errors.Is(err, ErrRefused) true.
func (e *Refused) Unwrap() error { return ErrRefused }
