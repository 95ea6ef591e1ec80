package envname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"GH_TOKEN", true},
		{"_", true},
		{"a1", true},
		{"_9", true},
		{strings.Repeat("A", MaxLen), true},
		{strings.Repeat("A", MaxLen+1), false},
		{"", false},
		{"1A", false},
		{"PATH ", false},
		{"A=B", false},
		{"A-B", false},
		{"A.B", false},
		{"A\x00", false},
		{"É", false},
		{"A\u0130", false},
	}
	for _, tt := range tests {
		if got := Valid(tt.name); got != tt.want {
			t.Errorf("Valid(%.20q…) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzValid holds Valid to its definition: only [A-Za-z0-9_] bytes, not
// starting with a digit, 1 to MaxLen bytes.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"GH_TOKEN", "1A", "", "A B", "_x9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := s != "" && len(s) <= MaxLen && !('0' <= s[0] && s[0] <= '9') &&
			strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == ""
		if got := Valid(s); got != want {
			t.Fatalf("Valid(%q) = %v, want %v", s, got, want)
		}
	})
}
