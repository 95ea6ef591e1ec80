//go:build dockere2e && linux

package docker

import (
	"encoding/json"
	"strings"
	"testing"
)

// testAPIWriteAsks is the approval proof on the real engine, through the
// guard: an api write by the agent asks the owner in the gatekeeper chat,
// the owner taps Allow once, the call goes through to the API, and the
// audit log shows the approval and the call. Then a Deny: exit 8, nothing
// sent.
func (s *stack) testAPIWriteAsks(t *testing.T, api *githubAPI, token string) {
	write := []string{"exec", sidecarName, "sidecar", "api", "-X", "POST", "-d", `{"title":"from the agent"}`, "/repos/OWNER/REPO/issues"}
	// The POST lines the log holds already (a tool's write through sidecar
	// run's proxy asks and is logged the same way): only this test's count.
	earlier := len(s.auditPosts(t, token))
	n := len(api.requests())
	done := make(chan result, 1)
	go func() { done <- s.agent(t, command{args: write}) }()
	q := s.tapApproval(t, "Allow once")
	for _, want := range []string{"POST", "/repos/OWNER/REPO/issues"} {
		if !strings.Contains(q.Text, want) {
			t.Errorf("the question does not show %q:\n%s", want, q.Text)
		}
	}
	r := <-done
	if r.code != 0 || !strings.Contains(r.stdout, `"title":"from the agent"`) {
		t.Fatalf("the approved write: %s", r)
	}
	reqs := api.requests()[n:]
	if len(reqs) != 1 || reqs[0].line != "POST /api/v3/repos/OWNER/REPO/issues" || reqs[0].auth != "Bearer "+token {
		t.Fatalf("the API saw %+v", redactReqs(reqs, token))
	}
	if out := s.approvalOutcome(t, q); !strings.Contains(out, "llow") {
		t.Errorf("the question now says %q", out)
	}

	// A denial: exit 8 with the do-not-retry hint, nothing sent.
	n = len(api.requests())
	go func() { done <- s.agent(t, command{args: write}) }()
	s.tapApproval(t, "Deny")
	r = <-done
	if r.code != 8 || !strings.Contains(r.stderr, "the owner said no") || !strings.Contains(r.stderr, "hint: do not retry") {
		t.Fatalf("the denied write: %s", r)
	}
	if len(api.requests()) != n {
		t.Fatalf("a denied write reached the API: %+v", redactReqs(api.requests()[n:], token))
	}

	// The audit log, read by the owner: the question, the owner's answer
	// (serve's line), the approval the command got, then the call with its
	// status; then the same for the denial. No token in it.
	got := s.auditPosts(t, token)[earlier:]
	want := []string{
		"agent approval ask /api/v3/repos/OWNER/REPO/issues 0",
		"owner approval allow_once /api/v3/repos/OWNER/REPO/issues 0",
		"agent approval allow_once /api/v3/repos/OWNER/REPO/issues 0",
		"agent api allow_once /api/v3/repos/OWNER/REPO/issues 201",
		"agent approval ask /api/v3/repos/OWNER/REPO/issues 0",
		"owner approval deny /api/v3/repos/OWNER/REPO/issues 0",
		"agent approval deny /api/v3/repos/OWNER/REPO/issues 0",
		"agent api deny /api/v3/repos/OWNER/REPO/issues 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log (POST lines):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// auditPosts returns the POST lines of the audit log as "caller action
// decision path status", oldest first, checking that no token is in it.
func (s *stack) auditPosts(t *testing.T, token string) []string {
	t.Helper()
	a := s.host(t, command{args: []string{"exec", sidecarName, "sidecar", "audit", "--json", "--last", "0"}, secret: true})
	if a.code != 0 || strings.Contains(a.stdout, token) {
		t.Fatalf("sidecar audit: %s", a)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(a.stdout), "\n") {
		if line == "" {
			continue
		}
		var e struct {
			Caller, Action, Decision, Method, Path string
			Status                                 int
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if e.Method == "POST" {
			got = append(got, strings.Join([]string{e.Caller, e.Action, e.Decision, e.Path}, " ")+" "+itoa(e.Status))
		}
	}
	return got
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
