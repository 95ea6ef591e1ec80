package demoidp

import (
	"strings"
	"testing"
)

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"BCDF-GHJK":   "BCDF-GHJK",
		"bcdfghjk":    "BCDF-GHJK",
		" bcdf ghjk ": "BCDF-GHJK",
		"bcd":         "BCD",
		"":            "",
		"bcdfghjkxyz": "BCDF-GHJK",
	} {
		if got := normalizeCode(in); got != want {
			t.Errorf("normalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeCode(f *testing.F) {
	f.Add("bcdf-ghjk")
	f.Add("ÿ-é ü")
	f.Fuzz(func(t *testing.T, s string) {
		got := normalizeCode(s)
		if strings.ContainsAny(got, " ") || normalizeCode(got) != got {
			t.Fatalf("normalizeCode(%q) = %q, not stable", s, got)
		}
	})
}
