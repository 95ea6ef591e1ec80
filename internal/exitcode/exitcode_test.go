package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

type coded struct{}

func (coded) Error() string { return "coded" }
func (coded) ExitCode() int { return 42 }

func TestOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		err  error
		want int
	}{
		{nil, OK},
		{base, Failure},
		{With(SignInRequired, base), SignInRequired},
		{fmt.Errorf("wrapped: %w", With(Telegram, base)), Telegram},
		{With(Provider, With(Declined, base)), Provider}, // the outermost code wins
		{fmt.Errorf("x: %w", coded{}), 42},
	}
	for _, tt := range tests {
		if got := Of(tt.err); got != tt.want {
			t.Errorf("Of(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if With(Usage, nil) != nil {
		t.Error("With(code, nil) must stay nil")
	}
	if err := With(Usage, base); !errors.Is(err, base) || err.Error() != "boom" {
		t.Error("With must wrap transparently")
	}
}
