package gate

import (
	"fmt"
	"strings"
	"testing"
)

// What a question's binding covers: everything that decides what happens,
// and not what serve rewrites or what derives from the rest.
func TestBinding(t *testing.T) {
	api := Question{Profile: "work", Action: "api", Method: "POST", Host: "api.github.com", Path: "/repos/o/r/issues",
		Query: "a=1", Headers: []string{"X-Foo: 1"}, BodySize: 3, BodyDigest: "d1", Preview: "abc", Rule: "ask POST /**", Account: "ada"}
	tok := Question{Profile: "work", Action: "token", Variant: VariantScoped, Scopes: []string{"repo"}}
	run := Question{Profile: "work", Action: "run", Command: []string{"gh", "api", "/user"}}
	for _, tc := range []struct {
		name string
		base Question
		f    func(*Question)
		same bool
	}{
		{"the rule serve rewrites", api, func(q *Question) { q.Rule = "ask * /**" }, true},
		{"the account shown", api, func(q *Question) { q.Account = "" }, true},
		{"the preview", api, func(q *Question) { q.Preview = "xyz" }, true},
		{"method", api, func(q *Question) { q.Method = "DELETE" }, false},
		{"host", api, func(q *Question) { q.Host = "uploads.github.com" }, false},
		{"scheme", api, func(q *Question) { q.Scheme = "http" }, false},
		{"path", api, func(q *Question) { q.Path = "/repos/o/r" }, false},
		{"query", api, func(q *Question) { q.Query = "a=2" }, false},
		{"a header", api, func(q *Question) { q.Headers = []string{"X-HTTP-Method-Override: DELETE"} }, false},
		{"body digest", api, func(q *Question) { q.BodyDigest = "d2" }, false},
		{"body size", api, func(q *Question) { q.BodySize = 4 }, false},
		{"via", api, func(q *Question) { q.Via = "run gh" }, false},
		{"profile", api, func(q *Question) { q.Profile = "home" }, false},
		{"token variant", tok, func(q *Question) { q.Variant = VariantAWS; q.Scopes = nil }, false},
		{"token scopes", tok, func(q *Question) { q.Scopes = []string{"repo", "admin:org"} }, false},
		{"run arguments", run, func(q *Question) { q.Command = []string{"gh", "api", "-X", "DELETE", "/user"} }, false},
		{"run with the raw token", run, func(q *Question) { q.WithToken = true }, false},
		{"fields moved between arguments", run, func(q *Question) { q.Command = []string{"gh", "api /user"} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.base
			q.Headers, q.Scopes, q.Command = append([]string(nil), q.Headers...), append([]string(nil), q.Scopes...), append([]string(nil), q.Command...)
			tc.f(&q)
			if (q.Binding() == tc.base.Binding()) != tc.same {
				t.Errorf("same binding: %v, want %v", q.Binding() == tc.base.Binding(), tc.same)
			}
		})
	}
}

// serve decides a question as the gate decided its action.
func TestQuestionPolicyRequest(t *testing.T) {
	for _, a := range []Action{
		{Kind: API, Method: "DELETE", URL: "https://api.github.com/repos/o/r%2Fx?q=1"},
		{Kind: API, Method: "GET", URL: "https://graph.microsoft.com/beta/users/x", Via: "run curl", API: "https://graph.microsoft.com/v1.0"},
		{Kind: API, Method: "GET", URL: "https://graph.microsoft.com/v1.0/users/x", API: "https://graph.microsoft.com/v1.0"},
		{Kind: API, Method: "GET", URL: "http://127.0.0.1:8080/v1.0/users/x", API: "https://127.0.0.1:8080/v1.0"},
		{Kind: API, Method: "GET", URL: "https://evil.example/v1.0/users/x", API: "https://graph.microsoft.com/v1.0"},
		{Kind: Token, Variant: VariantAWS},
		{Kind: Run, Argv: []string{"gh", "api", "/user"}},
		{Kind: SignIn},
	} {
		q := a.Question("rule")
		if got, want := q.PolicyRequest(a.API), a.PolicyRequest(); got != want {
			t.Errorf("%+v: question decides %+v, action %+v", a, got, want)
		}
	}
}

func TestShownWhole(t *testing.T) {
	long := strings.Repeat("a", maxField+1)
	many := map[string][]string{}
	for i := range MaxHeaders + 1 {
		many[fmt.Sprintf("X-H%d", i)] = []string{"v"}
	}
	for _, tc := range []struct {
		name string
		a    Action
		want bool
	}{
		{"a plain call", Action{Kind: API, Method: "GET", URL: "https://h/p?q=1"}, true},
		{"a long body is fine", Action{Kind: API, Method: "POST", URL: "https://h/p", Body: []byte(long)}, true},
		{"a long path", Action{Kind: API, Method: "GET", URL: "https://h/" + long}, false},
		{"a long query", Action{Kind: API, Method: "GET", URL: "https://h/p?" + long}, false},
		{"a long header", Action{Kind: API, Method: "GET", URL: "https://h/p", Header: map[string][]string{"X-A": {strings.Repeat("a b ", maxField/4+1)}}}, false},
		{"too many headers", Action{Kind: API, Method: "GET", URL: "https://h/p", Header: many}, false},
		{"a long argument", Action{Kind: Run, Argv: []string{"gh", strings.Repeat("x", maxArg+1)}}, false},
		{"too many arguments", Action{Kind: Run, Argv: make([]string, MaxCommandArgs+1)}, false},
		{"a command line", Action{Kind: Run, Argv: []string{"gh", "api", "/user"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.ShownWhole(); got != tc.want {
				t.Errorf("ShownWhole = %v, want %v", got, tc.want)
			}
		})
	}
}
