package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "devicegate")
	l := Open(dir)
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	evs := []Event{
		{Time: base, Profile: "default", Caller: CallerAgent, Action: ActionAPI, Decision: "allow", Method: "GET", Host: "graph.microsoft.com", Path: "/v1.0/me", Status: 200},
		{Time: base.Add(time.Minute), Profile: "work", Caller: CallerOwner, Action: ActionSignIn},
		{Time: base.Add(2 * time.Minute), Profile: "default", Caller: CallerAgent, Action: ActionToken, Decision: "deny"},
		{Time: base.Add(3 * time.Minute), Profile: "default", Caller: CallerAgent, Action: ActionRun, Decision: "allow_once", Command: "gh"},
	}
	for _, e := range evs {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}

	tests := []struct {
		name string
		f    Filter
		want []int
	}{
		{"all", Filter{}, []int{0, 1, 2, 3}},
		{"profile", Filter{Profile: "default"}, []int{0, 2, 3}},
		{"since", Filter{Since: base.Add(90 * time.Second)}, []int{2, 3}},
		{"last", Filter{Last: 2}, []int{2, 3}},
		{"profile and last", Filter{Profile: "default", Last: 1}, []int{3}},
		{"none", Filter{Profile: "nobody"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Read(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				if !got[i].Time.Equal(evs[w].Time) || got[i].Action != evs[w].Action || got[i].Profile != evs[w].Profile {
					t.Errorf("event %d = %+v, want %+v", i, got[i], evs[w])
				}
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	got, err := Open(t.TempDir()).Read(Filter{})
	if err != nil || got != nil {
		t.Fatalf("Read of an empty dir = %v, %v", got, err)
	}
}

func TestAppendNarrowsMode(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir)
	if err := os.WriteFile(l.Path(), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(l.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(Event{Profile: "p", Action: ActionLogout}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(l.Path())
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestReadSkipsDamagedLines(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir)
	good := `{"time":"2026-12-01T12:00:00Z","profile":"p","caller":"agent","action":"api"}`
	content := "not json\n" + good + "\n{\"time\":\"2026-12-01T12:00:00Z\"}\n" +
		`{"time":"2026-12-01T12:00:00Z","action":"api","extra":1}` + "\n" +
		strings.Repeat("x", maxLine+10) + "\n" + good // no final newline: a crash mid-write
	if err := os.WriteFile(l.Path(), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := l.Read(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d events, want the 2 good ones: %+v", len(got), got)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir)
	l.MaxSize = 1000
	for i := range 40 {
		if err := l.Append(Event{Profile: "p", Caller: CallerAgent, Action: ActionAPI, Status: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	names := logFiles(t, dir)
	if len(names) < 3 {
		t.Fatalf("files %v: want the current log and at least two older generations (every entry is young)", names)
	}
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > l.MaxSize {
			t.Errorf("%s is %d bytes, over the %d limit", filepath.Base(name), fi.Size(), l.MaxSize)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", filepath.Base(name), fi.Mode().Perm())
		}
	}
	got, err := l.Read(Filter{Last: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Status != 38 || got[2].Status != 40 {
		t.Fatalf("last 3 after rotation = %+v", got)
	}
	all, _ := l.Read(Filter{})
	if len(all) != 40 {
		t.Fatalf("%d events read, want all 40: nothing young is rotated away", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Status != all[i-1].Status+1 {
			t.Fatalf("events out of order or lost across the rotation: %d then %d", all[i-1].Status, all[i].Status)
		}
	}
}

// TestAppendAcrossProcesses has several processes (this test binary again)
// and goroutines append at once, with rotation on: no line may be lost
// beyond the rotated-out generation, torn or interleaved.
func TestAppendAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("AUDIT_TEST_CHILD_DIR"); dir != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	const procs, per = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$")
			cmd.Env = append(os.Environ(), "AUDIT_TEST_CHILD_DIR="+dir, "AUDIT_TEST_CHILD_ID="+strconv.Itoa(p), "AUDIT_TEST_CHILD_N="+strconv.Itoa(per))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("child %d: %v\n%s", p, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var lines int
	for _, name := range []string{filepath.Join(dir, FileName)} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if _, err := ParseLine(line); err != nil {
				t.Fatalf("torn line %q: %v", line, err)
			}
			lines++
		}
	}
	got, err := Open(dir).Read(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != procs*per*2 {
		t.Fatalf("%d events read, want %d", len(got), procs*per*2)
	}
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.Detail] {
			t.Fatalf("event %q twice", e.Detail)
		}
		seen[e.Detail] = true
	}
}

func TestHelperAppender(t *testing.T) {
	dir := os.Getenv("AUDIT_TEST_CHILD_DIR")
	if dir == "" {
		t.Skip("helper process for TestAppendAcrossProcesses")
	}
	id := os.Getenv("AUDIT_TEST_CHILD_ID")
	n, _ := strconv.Atoi(os.Getenv("AUDIT_TEST_CHILD_N"))
	l := Open(dir)
	l.MaxSize = 1 << 20
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := l.Append(Event{Profile: "p", Caller: CallerAgent, Action: ActionAPI, Detail: fmt.Sprintf("p%s g%d n%d", id, g, i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

// TestRotationAcrossProcesses rotates often while four processes append:
// every line in both generations parses, none is torn, and the newest
// lines are all there.
func TestRotationAcrossProcesses(t *testing.T) {
	if os.Getenv("AUDIT_TEST_CHILD_DIR") != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRotator$")
			cmd.Env = append(os.Environ(), "AUDIT_TEST_CHILD_DIR="+dir, "AUDIT_TEST_CHILD_ID="+strconv.Itoa(p))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child %d: %v\n%s", p, err, out)
			}
		}()
	}
	wg.Wait()
	var lines int
	for _, name := range logFiles(t, dir) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
		if int64(len(b)) > 4096 {
			t.Errorf("%s is %d bytes, over the limit", name, len(b))
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if _, err := ParseLine(line); err != nil {
				t.Fatalf("%s: torn line %q: %v", name, line, err)
			}
		}
	}
	// Every line is young: none may be lost to rotation.
	if lines != 4*200 {
		t.Errorf("%d lines in all generations, want %d", lines, 4*200)
	}
	got, err := Open(dir).Read(Filter{})
	if err != nil || len(got) != 4*200 {
		t.Fatalf("Read: %d events, %v; want %d", len(got), err, 4*200)
	}
}

// logFiles lists the log's files in dir: the current one and every
// generation.
func logFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, FileName+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestHelperRotator(t *testing.T) {
	dir := os.Getenv("AUDIT_TEST_CHILD_DIR")
	if dir == "" || os.Getenv("AUDIT_TEST_CHILD_N") != "" {
		t.Skip("helper process for TestRotationAcrossProcesses")
	}
	l := Open(dir)
	l.MaxSize = 4096
	for i := range 200 {
		if err := l.Append(Event{Profile: "p", Action: ActionAPI, Detail: fmt.Sprintf("%s-%d", os.Getenv("AUDIT_TEST_CHILD_ID"), i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNeverASecret appends events carrying secrets where a careless caller
// might put them, and scans the file for every one.
func TestNeverASecret(t *testing.T) {
	secrets := []string{
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
		"ghp_0123456789abcdefghijABCDEFGHIJklmnop",
		"gho_16C7e42F292c6912E7710c838347Ae178B4a",
		"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
		"ya29.a0AfH6SMBx-secret-google-token",
		"0.AXoA8f3kLs9-refresh_token-M.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wQA9P8",
		"s3cr3tV4lu3InTh3Qu3ry",
		"Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg=",
	}
	dir := t.TempDir()
	l := Open(dir)
	evs := []Event{
		{Action: ActionAPI, Method: "GET", Host: "https://user:" + secrets[6] + "@api.github.com/x?y=1", Path: "/repos/o/r?access_token=" + secrets[1] + "&q=" + secrets[6]},
		{Action: ActionAPI, Path: "/me#" + secrets[6]},
		{Action: ActionAPI, Path: "/hooks/" + secrets[7]},
		{Action: ActionAPI, Path: "/x/" + secrets[0] + "/y"},
		{Action: ActionRun, Command: "curl -H Authorization: Bearer " + secrets[4]},
		{Action: ActionRun, Command: "gh auth login --with-token " + secrets[2]},
		{Action: ActionRefresh, Detail: "refresh failed: token " + secrets[5]},
		{Action: ActionSignIn, Detail: "id token " + secrets[0]},
		{Action: ActionToken, Detail: "pat " + secrets[3] + " basic " + secrets[6]},
	}
	for _, e := range evs {
		e.Profile, e.Caller = "p", CallerAgent
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("secret %q is in the audit log:\n%s", s, b)
		}
	}
	got, _ := l.Read(Filter{})
	if got[0].Host != "api.github.com" || got[0].Path != "/repos/o/r" || got[1].Path != "/me" {
		t.Errorf("host/path not reduced: %+v %+v", got[0], got[1])
	}
	if got[2].Path != "/hooks/[masked]" {
		t.Errorf("path = %q", got[2].Path)
	}
}

func TestSanitizeKeepsWhatMatters(t *testing.T) {
	e := Sanitize(Event{Method: "PATCH", Host: "graph.microsoft.com", Path: "/v1.0/me/events/42", Command: "gh pr list", Detail: "status 403 from the provider"})
	if e.Path != "/v1.0/me/events/42" || e.Command != "gh pr list" || e.Detail != "status 403 from the provider" || e.Host != "graph.microsoft.com" {
		t.Errorf("Sanitize changed plain values: %+v", e)
	}
	long := Sanitize(Event{Detail: strings.Repeat("a b ", 1000) + "\n\x1b[31m"})
	if len(long.Detail) > maxField+len("…") || strings.ContainsAny(long.Detail, "\n\x1b") {
		t.Errorf("Detail not bounded or cleaned: %d bytes", len(long.Detail))
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"time":"2026-12-01T12:00:00Z","profile":"p","caller":"agent","action":"api","method":"GET","path":"/x","status":200}`))
	f.Add([]byte(`{"time":"2026-12-01T12:00:00Z","action":"approval","decision":"allow_1h"} {}`))
	f.Add([]byte(`{"time":"x","action":"api"}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLine(line)
		if err != nil {
			return
		}
		if e.Time.IsZero() || e.Action == "" {
			t.Fatalf("accepted %q without time or action", line)
		}
		// What parses re-encodes to a line that parses to the same event.
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := ParseLine(b)
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", b, err)
		}
		if !e2.Time.Equal(e.Time) || e2.Action != e.Action || e2.Path != e.Path || e2.Detail != e.Detail {
			t.Fatalf("round trip changed %+v to %+v", e, e2)
		}
	})
}

func FuzzSanitize(f *testing.F) {
	f.Add("/v1.0/me?x=1", "h@x/y", "gh pr list", "detail")
	f.Fuzz(func(t *testing.T, path, host, command, detail string) {
		e := Sanitize(Event{Time: time.Unix(1, 0), Action: ActionAPI, Path: path, Host: host, Command: command, Detail: detail})
		if strings.ContainsAny(e.Path, "?#") || strings.ContainsAny(e.Host, "@/?#") {
			t.Fatalf("query, fragment or user info kept: %+v", e)
		}
		b, _ := json.Marshal(e)
		if bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("line break in the line: %q", b)
		}
		if _, err := ParseLine(b); err != nil {
			t.Fatalf("sanitized event does not parse: %v", err)
		}
	})
}

// FuzzAppendJSON holds the hand-written line encoder to encoding/json's
// output, byte for byte.
func FuzzAppendJSON(f *testing.F) {
	f.Add(int64(1764600000), int64(123456789), "work", "agent", "api", "allow", "GET", "graph.microsoft.com", "/v1.0/me", "gh pr", 201, "rule: allow GET /**")
	f.Add(int64(0), int64(0), "", "", "", "", "", "", "", "", 0, "")
	f.Add(int64(-62135596800), int64(0), "<&>", "\u2028\u2029", "\x00\x1f\x7f", "\"\\", "\xff\xfe", "é漢", "\t\n\r\b\f", "\ufffd", -3, "a\xc3")
	f.Fuzz(func(t *testing.T, sec, nsec int64, profile, caller, action, decision, method, host, path, command string, status int, detail string) {
		e := Event{
			Time: time.Unix(sec, nsec).UTC(), Profile: profile, Caller: caller, Action: action, Decision: decision,
			Method: method, Host: host, Path: path, Command: command, Status: status, Detail: detail,
		}
		if sec%3 == 0 {
			e.Time = e.Time.In(time.FixedZone("", int(sec%100000)))
		}
		want, werr := json.Marshal(e)
		got, gerr := e.appendJSON(nil)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("json.Marshal error %v, appendJSON error %v", werr, gerr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("appendJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	})
}
