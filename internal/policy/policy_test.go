package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	graph := `allow GET /v1.0/me/**; deny write /v1.0/me/sendMail
ask POST,PATCH /v1.0/me/events/*; allow DELETE /v1.0/me/events/*/attachments/**
deny * /v1.0/users/**`
	github := "allow token; ask run gh; deny run; allow POST /repos/*/*/issues; deny DELETE /repos/**"
	tests := []struct {
		name   string
		policy string
		req    Request
		want   Decision
		rule   string
	}{
		// The defaults.
		{"default read", "", Request{Action: ActionAPI, Method: "GET", Path: "/v1.0/me"}, Allow, "allow read (default)"},
		{"default head", "", Request{Action: ActionAPI, Method: "HEAD", Path: "/x"}, Allow, "allow read (default)"},
		{"default options", "", Request{Action: ActionAPI, Method: "OPTIONS", Path: "/x"}, Allow, "allow read (default)"},
		{"default write", "", Request{Action: ActionAPI, Method: "POST", Path: "/v1.0/me/sendMail"}, Ask, "ask POST /v1.0/me/sendMail"},
		{"default delete", "", Request{Action: ActionAPI, Method: "DELETE", Path: "/x/1"}, Ask, "ask DELETE /x/1"},
		{"default token", "", Request{Action: ActionToken}, Ask, "ask token"},
		{"default run", "", Request{Action: ActionRun, Program: "gh"}, Ask, "ask run gh"},
		{"unknown action", "", Request{Action: "x"}, Deny, "deny (unknown action)"},
		{"default signin", "", Request{Action: ActionSignIn}, Ask, "ask signin"},
		{"default logout", "", Request{Action: ActionLogout}, Ask, "ask logout"},
		// Signing in and out.
		{"allow signin", "allow signin; deny logout", Request{Action: ActionSignIn}, Allow, "allow signin"},
		{"deny logout", "allow signin; deny logout", Request{Action: ActionLogout}, Deny, "deny logout"},
		{"signin rule is not logout", "allow signin", Request{Action: ActionLogout}, Ask, "ask logout"},
		{"token rule is not signin", "allow token", Request{Action: ActionSignIn}, Ask, "ask signin"},
		{"signin upper case", "DENY SignIn", Request{Action: ActionSignIn}, Deny, "DENY SignIn"},
		{"run rule is not signin", "allow run", Request{Action: ActionSignIn}, Ask, "ask signin"},
		// Microsoft Graph.
		{"graph me read", graph, Request{Action: ActionAPI, Method: "GET", Path: "/v1.0/me/messages"}, Allow, "allow GET /v1.0/me/**"},
		{"graph me itself", graph, Request{Action: ActionAPI, Method: "GET", Path: "/v1.0/me"}, Allow, "allow GET /v1.0/me/**"},
		{"graph sendMail", graph, Request{Action: ActionAPI, Method: "POST", Path: "/v1.0/me/sendMail"}, Deny, "deny write /v1.0/me/sendMail"},
		{"graph sendmail other case", graph, Request{Action: ActionAPI, Method: "POST", Path: "/V1.0/ME/SENDMAIL"}, Deny, "deny write /v1.0/me/sendMail"},
		{"graph sendMail trailing slash", graph, Request{Action: ActionAPI, Method: "POST", Path: "/v1.0/me/sendMail/"}, Deny, "deny write /v1.0/me/sendMail"},
		{"graph event patch", graph, Request{Action: ActionAPI, Method: "PATCH", Path: "/v1.0/me/events/AAMk="}, Ask, "ask POST,PATCH /v1.0/me/events/*"},
		{"graph event star is one segment", graph, Request{Action: ActionAPI, Method: "PATCH", Path: "/v1.0/me/events/1/x"}, Ask, "ask PATCH /v1.0/me/events/1/x"},
		{"graph attachment delete", graph, Request{Action: ActionAPI, Method: "DELETE", Path: "/v1.0/me/events/1/attachments/2"}, Allow, "allow DELETE /v1.0/me/events/*/attachments/**"},
		{"graph users any method", graph, Request{Action: ActionAPI, Method: "GET", Path: "/v1.0/users/x@y"}, Deny, "deny * /v1.0/users/**"},
		{"graph token default", graph, Request{Action: ActionToken}, Ask, "ask token"},
		// GitHub.
		{"github token allowed", github, Request{Action: ActionToken}, Allow, "allow token"},
		{"github run gh", github, Request{Action: ActionRun, Program: "gh"}, Ask, "ask run gh"},
		{"github run other", github, Request{Action: ActionRun, Program: "az"}, Deny, "deny run"},
		{"github issue", github, Request{Action: ActionAPI, Method: "POST", Path: "/repos/o/r/issues"}, Allow, "allow POST /repos/*/*/issues"},
		{"github delete repo", github, Request{Action: ActionAPI, Method: "DELETE", Path: "/repos/o/r"}, Deny, "deny DELETE /repos/**"},
		{"github read", github, Request{Action: ActionAPI, Method: "GET", Path: "/user"}, Allow, "allow read (default)"},
		// Paths a server may read differently never pass without asking.
		// The base path (OAUTH_API_URL=…/v1.0): /beta is not /v1.0, and
		// the default never allows what lies outside the base.
		{"beta bypass asks", "deny * /v1.0/users/**", Request{Action: ActionAPI, Method: "GET", Host: "graph.microsoft.com", Path: "/beta/users/x", OutsideBase: true}, Ask, "ask GET /beta/users/x (outside the API's base URL)"},
		{"beta named by a rule", "allow GET /beta/me/**", Request{Action: ActionAPI, Method: "GET", Host: "graph.microsoft.com", Path: "/beta/me/x", OutsideBase: true}, Allow, "allow GET /beta/me/**"},
		{"other host asks", "allow GET /**", Request{Action: ActionAPI, Method: "GET", Host: "management.azure.com", Path: "/subscriptions", OtherHost: true}, Ask, "ask GET management.azure.com/subscriptions (another host than the API's)"},
		{"other host named", "allow GET management.azure.com/subscriptions/**", Request{Action: ActionAPI, Method: "GET", Host: "management.azure.com", Path: "/subscriptions/1", OtherHost: true}, Allow, "allow GET management.azure.com/subscriptions/**"},
		{"host rule ignores the API's host", "deny GET management.azure.com/**", Request{Action: ActionAPI, Method: "GET", Host: "graph.microsoft.com", Path: "/v1.0/me"}, Allow, "allow read (default)"},
		{"host rule for another host only", "allow GET evil.example/**", Request{Action: ActionAPI, Method: "GET", Host: "management.azure.com", Path: "/x", OtherHost: true}, Ask, "ask GET management.azure.com/x (another host than the API's)"},
		{"dot segments", graph, Request{Action: ActionAPI, Method: "GET", Path: "/v1.0/me/../users/x"}, Deny, "deny * /v1.0/users/**"},
		{"dot segments allow", "allow GET /v1.0/me/**", Request{Action: ActionAPI, Method: "GET", Path: "/v1.0/me/../../admin"}, Ask, ""},
		{"encoded slash", "allow POST /a/*", Request{Action: ActionAPI, Method: "POST", Path: "/a/b%2Fc"}, Ask, ""},
		{"encoded dot", "allow POST /a/**", Request{Action: ActionAPI, Method: "POST", Path: "/a/%2e%2e/b"}, Ask, ""},
		{"empty segment", "allow POST /a/**", Request{Action: ActionAPI, Method: "POST", Path: "/a//b"}, Ask, ""},
		{"backslash", "allow POST /a/**", Request{Action: ActionAPI, Method: "POST", Path: `/a/%5C..%5Cb`}, Ask, ""},
		{"bad escape", "allow POST /a/**", Request{Action: ActionAPI, Method: "POST", Path: "/a/%zz"}, Ask, ""},
		{"plain escapes are fine", "allow POST /a/*", Request{Action: ActionAPI, Method: "POST", Path: "/a/b%20c"}, Allow, "allow POST /a/*"},
		{"escaped pattern", "allow POST /a/b%20c", Request{Action: ActionAPI, Method: "POST", Path: "/a/b%20c"}, Allow, "allow POST /a/b%20c"},
		// Matching.
		{"root", "deny GET /", Request{Action: ActionAPI, Method: "GET", Path: "/"}, Deny, "deny GET /"},
		{"root is not everything", "deny GET /", Request{Action: ActionAPI, Method: "GET", Path: "/x"}, Allow, "allow read (default)"},
		{"everything", "deny * /**", Request{Action: ActionAPI, Method: "GET", Path: "/"}, Deny, "deny * /**"},
		{"double star in the middle", "deny * /a/**/z", Request{Action: ActionAPI, Method: "GET", Path: "/a/b/c/z"}, Deny, "deny * /a/**/z"},
		{"double star zero segments", "deny * /a/**/z", Request{Action: ActionAPI, Method: "GET", Path: "/a/z"}, Deny, "deny * /a/**/z"},
		{"double star no match", "deny * /a/**/z", Request{Action: ActionAPI, Method: "GET", Path: "/a/b/c"}, Allow, "allow read (default)"},
		{"first rule wins", "allow * /a/**; deny * /a/b", Request{Action: ActionAPI, Method: "POST", Path: "/a/b"}, Allow, "allow * /a/**"},
		{"method not listed", "deny DELETE /**", Request{Action: ActionAPI, Method: "POST", Path: "/a"}, Ask, "ask POST /a"},
		{"read keyword", "deny read /**", Request{Action: ActionAPI, Method: "HEAD", Path: "/a"}, Deny, "deny read /**"},
		{"upper-case decision and spaces", "  ALLOW   token  ", Request{Action: ActionToken}, Allow, "ALLOW token"},
		{"run star", "allow run *", Request{Action: ActionRun, Program: "x"}, Allow, "allow run *"},
		// with-token runs and aws runs are token exports.
		{"with-token", "allow run terraform with-token", Request{Action: ActionRun, Program: "terraform"}, Allow, "allow run terraform with-token"},
		{"with-token asks an explicit token rule", "ask token; allow run terraform with-token", Request{Action: ActionRun, Program: "terraform"}, Ask, "ask token"},
		{"with-token not other programs", "allow run terraform with-token", Request{Action: ActionRun, Program: "gh"}, Ask, "ask run gh"},
		{"placeholders need no token rule", "deny token; allow run gh", Request{Action: ActionRun, Program: "gh"}, Allow, "allow run gh"},
		{"aws run under deny token", "deny token", Request{Action: ActionRun, Program: "aws", Export: true}, Deny, "deny token"},
		{"aws run allowed", "allow run aws", Request{Action: ActionRun, Program: "aws", Export: true}, Allow, "allow run aws"},
		{"aws run default token rule", "", Request{Action: ActionRun, Program: "aws", Export: true}, Ask, "ask run aws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			v := p.Decide(tt.req)
			if v.Decision != tt.want || tt.rule != "" && v.Rule != tt.rule {
				t.Errorf("Decide(%+v) = %+v, want %s by %q", tt.req, v, tt.want, tt.rule)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		policy string
		n      int
		msg    string
	}{
		{"alow GET /x", 1, `unknown decision "alow"`},
		{"allow token; allow", 2, "say what it is about"},
		{"allow GET", 1, "want METHODS PATH"},
		{"allow GET x", 1, "must start with /"},
		{"allow GET us%er@host.example/x", 1, "must start with /"},
		{"allow GET host.example", 1, "must start with /"},
		{"allow GET host.example/a//b", 1, "empty segment"},
		{"allow FETCH /x", 1, `unknown method "FETCH"`},
		{"allow GET,FOO /x", 1, `unknown method "FOO"`},
		{"allow GET /x?y=1", 1, "without ? or #"},
		{"allow GET /a//b", 1, "empty segment"},
		{"allow GET /a/../b", 1, "no . or .. segments"},
		{"allow GET /a/b*", 1, "whole segment"},
		{"allow GET /a/%zz", 1, "bad escape"},
		{"allow token now", 1, "token takes nothing"},
		{"allow token; ask signin work", 2, "signin takes nothing"},
		{"deny logout --force", 1, "logout takes nothing"},
		{"allow run gh az", 1, "at most one program"},
		{"allow run gh az with-token", 1, "at most one program"},
		{"deny run gh with-token", 1, "a deny rule needs none"},
		// A rule set that denies token export and hands it out anyway.
		{"deny token; allow run terraform with-token", 2, `denies token export`},
		{"allow run terraform with-token\ndeny token", 1, `"deny token" denies token export`},
		{"ask run with-token; deny token", 1, `"deny token"`},
		{"allow run /usr/bin/gh", 1, "not a path"},
		{"allow GET /x extra", 1, "want METHODS PATH"},
		{"allow GET /" + strings.Repeat("a/", 70), 1, "more than"},
		{"allow GET /" + strings.Repeat("a", 600), 1, "longer than"},
		{strings.Repeat("allow token;", 201), 201, "too many rules"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			_, err := Parse(tt.policy)
			var pe *Error
			if !errors.As(err, &pe) || pe.N != tt.n || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Parse(%.60q) = %v, want rule %d: %q", tt.policy, err, tt.n, tt.msg)
			}
			if !strings.Contains(err.Error(), "rule ") {
				t.Errorf("the error does not name the rule: %v", err)
			}
		})
	}
}

func TestWithTokenVerdict(t *testing.T) {
	p, err := Parse("allow run terraform with-token; allow run gh")
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Decide(Request{Action: ActionRun, Program: "terraform"}); !v.WithToken {
		t.Errorf("terraform: %+v, want WithToken", v)
	}
	if v := p.Decide(Request{Action: ActionRun, Program: "gh"}); v.WithToken {
		t.Errorf("gh: %+v, want placeholders", v)
	}
	// An allow token earlier does not turn a shadowed deny into a conflict.
	if _, err := Parse("allow token; deny token; allow run x with-token"); err != nil {
		t.Errorf("first token rule allows: %v", err)
	}
}

// TestCheckExportAWS: for aws profiles every run that does not deny is a
// token export, so it may not stand beside deny token.
func TestCheckExportAWS(t *testing.T) {
	tests := []struct {
		policy string
		bad    bool
	}{
		{"deny token; allow run aws", true},
		{"deny token; ask run", true},
		{"deny token; deny run", false},
		{"deny token", false}, // the default run then meets deny token in Decide
		{"allow run aws", false},
		{"ask token; allow run aws", false},
	}
	for _, tt := range tests {
		p, err := Parse(tt.policy)
		if err != nil {
			t.Fatal(err)
		}
		err = p.CheckExport(true)
		var pe *Error
		if tt.bad != (err != nil) || tt.bad && (!errors.As(err, &pe) || !strings.Contains(err.Error(), "deny token") || !strings.Contains(err.Error(), "run")) {
			t.Errorf("CheckExport(%q) = %v", tt.policy, err)
		}
	}
}

func TestRefused(t *testing.T) {
	for _, reason := range []string{"policy", "no_listener", "timeout", "deny", "serve_stopped"} {
		err := error(&Refused{Action: "POST /x", Reason: reason, Rule: "ask POST /x"})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "POST /x") {
			t.Errorf("%s: %v", reason, err)
		}
	}
}

func TestString(t *testing.T) {
	p, _ := Parse("allow  token\nask run gh ;;")
	if p.String() != "allow token\nask run gh\n" {
		t.Errorf("String = %q", p.String())
	}
	var nilp *Policy
	if v := nilp.Decide(Request{Action: ActionToken}); v.Decision != Ask {
		t.Errorf("nil policy: %+v", v)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("allow GET /v1.0/me/**; deny write /v1.0/me/sendMail\nask run gh", "POST", "/v1.0/me/sendMail")
	f.Add("deny * /a/**/**/z; allow token", "GET", "/a/%2e%2e/z")
	f.Add("ALLOW read /", "HEAD", "/")
	f.Add("deny token; allow run gh", "gh", "/x")
	f.Add("allow run terraform with-token", "terraform", "")
	f.Add("allow signin; deny logout; ask run", "GET", "/")
	f.Fuzz(func(t *testing.T, s, method, path string) {
		p, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.N < 1 {
				t.Fatalf("error without a rule number: %v", err)
			}
			return
		}
		// What parses prints back to rules that parse the same.
		p2, err := Parse(p.String())
		if err != nil || p2.String() != p.String() {
			t.Fatalf("round trip: %q -> %q: %v", p.String(), p2, err)
		}
		for _, a := range []string{ActionAPI, ActionToken, ActionRun, ActionSignIn, ActionLogout} {
			req := Request{Action: a, Method: strings.ToUpper(method), Path: path, Program: method, Export: len(path)%2 == 0}
			v := p.Decide(req)
			if v.Decision != Allow && v.Decision != Ask && v.Decision != Deny || v.Rule == "" {
				t.Fatalf("Decide(%+v) = %+v", req, v)
			}
			if v2 := p2.Decide(req); v2 != v {
				t.Fatalf("the reparsed policy decides %+v, not %+v", v2, v)
			}
			// A token export never passes where token export is denied.
			if a == ActionRun && (v.WithToken || req.Export) && v.Decision != Deny {
				if t2 := p.Decide(Request{Action: ActionToken}); t2.Decision == Deny && !t2.Default {
					t.Fatalf("run %+v exports the token past %q", req, t2.Rule)
				}
			}
			// Without rules, token export, writes, runs, sign-ins and
			// sign-outs never pass unasked.
			if d := (&Policy{}).Decide(req); d.Decision == Allow && (a != ActionAPI || !slicesContains(readMethods, req.Method)) {
				t.Fatalf("default allows %+v", req)
			}
		}
	})
}

func slicesContains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
