package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/devicegate/devicegate/internal/exitcode"
)

type coded struct{}

func (coded) Error() string { return "coded" }
func (coded) ExitCode() int { return 42 }

func TestCode(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitcode.OK},
		{base, exitcode.Failure},
		{Exit(exitcode.SignInRequired, base), exitcode.SignInRequired},
		{fmt.Errorf("wrapped: %w", Exit(exitcode.Telegram, base)), exitcode.Telegram},
		{Exit(exitcode.Provider, Exit(exitcode.Declined, base)), exitcode.Provider}, // the outermost code wins
		{fmt.Errorf("x: %w", coded{}), 42},
	}
	for _, tt := range tests {
		if got := Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if Exit(exitcode.Usage, nil) != nil {
		t.Error("Exit(code, nil) must stay nil")
	}
	if err := Exit(exitcode.Usage, base); !errors.Is(err, base) || err.Error() != "boom" {
		t.Error("With must wrap transparently")
	}
}
