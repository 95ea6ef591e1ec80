package detach

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/session"
)

// The child's report, once through JSON, gives the parent the error an
// in-process refresh would have: the same exit code and kind, so the same
// hints. (The whole protocol, kill -9 included, is TestCrashConsistency in
// cmd/sidecar.)
func TestResultErr(t *testing.T) {
	tests := []struct {
		name     string
		res      refreshResult
		wantCode int
		check    func(error) bool
	}{
		{"ok", refreshResult{Code: exitcode.OK}, exitcode.OK, func(err error) bool { return err == nil }},
		{"stale", refreshResult{Code: exitcode.Provider, Message: "provider down", Stale: true}, exitcode.Provider,
			func(err error) bool { var s *session.StaleError; return errors.As(err, &s) }},
		{"sign-in required", refreshResult{Code: exitcode.SignInRequired, Message: "x", Reason: "revoked"}, exitcode.SignInRequired,
			func(err error) bool {
				var s *session.SignInError
				return errors.As(err, &s) && s.Profile == "gh" && s.Reason == "revoked"
			}},
		{"other", refreshResult{Code: exitcode.Telegram, Message: "telegram down"}, exitcode.Telegram,
			func(err error) bool { return err != nil && err.Error() == "telegram down" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.res)
			if err != nil {
				t.Fatal(err)
			}
			var got refreshResult
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			err = got.err("gh")
			if !tt.check(err) {
				t.Fatalf("err = %#v", err)
			}
			if c := cli.Code(err); c != tt.wantCode {
				t.Fatalf("exit code %d, want %d", c, tt.wantCode)
			}
		})
	}
}
