package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// benchPolicy is the README's Microsoft Graph example and a few more rules.
const benchPolicy = "deny write /v1.0/me/sendMail; deny * /v1.0/users/**; ask POST,PATCH,DELETE /v1.0/me/events/**; allow token; deny run"

// BenchmarkPolicyAudit is what policy and audit add to an allowed `sidecar
// api` call by the agent: parsing the profile's rules (every command does,
// in app.Open), the decision, and appending the audit line (open, flock,
// one write, close). The budget is 2 ms.
func BenchmarkPolicyAudit(b *testing.B) {
	dir := b.TempDir()
	st, err := tokencache.Open(filepath.Join(dir, "cache"), nil)
	if err != nil {
		b.Fatal(err)
	}
	log := audit.Open(dir)
	// A bucket that never runs out: the rate limit's cost is measured
	// (one Admit a call), not its refusals.
	log.Burst, log.Rate = 1<<40, 1<<40
	ctx := context.Background()
	path := "/v1.0/me/messages/AAMkAGI2TG93AAA="
	b.ReportAllocs()
	for b.Loop() {
		pol, err := policy.Parse(benchPolicy)
		if err != nil {
			b.Fatal(err)
		}
		s := &session.Session{Profile: "default", Store: st, Policy: pol, Audit: log, Caller: audit.CallerAgent}
		ev := audit.Event{Action: audit.ActionAPI, Method: "GET", Host: "graph.microsoft.com", Path: path}
		d, err := gate(ctx, s, policy.Request{Action: policy.ActionAPI, Method: "GET", Path: path},
			approval.Request{Action: approval.ActionAPI, Method: "GET", Host: "graph.microsoft.com", Path: path}, ev)
		if err != nil || d != "allow" {
			b.Fatalf("gate = %q, %v", d, err)
		}
		ev.Decision, ev.Status = d, 200
		record(s, ev, io.Discard)
	}
}

// BenchmarkAPICall is a whole allowed `sidecar api` call by the agent, in
// process, against a local API: for scale, next to BenchmarkPolicyAudit.
func BenchmarkAPICall(b *testing.B) {
	dataDir, _ := gateEnv(b, nil)
	b.Setenv(audit.CallerVar, audit.CallerAgent)
	b.Setenv("OAUTH_POLICY", benchPolicy)
	var out strings.Builder
	for b.Loop() {
		// Every call is the first of a full bucket: the loop is a flood
		// the rate limit would stop.
		b.StopTimer()
		os.Remove(filepath.Join(dataDir, audit.RateFileName))
		b.StartTimer()
		out.Reset()
		if code := Main(context.Background(), []string{"api", "/user"}, strings.NewReader(""), &out, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
