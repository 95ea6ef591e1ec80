package demoidp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"BCDF-GHJK":       "BCDF-GHJK",
		"bcdfghjk":        "BCDF-GHJK",
		" bcdf ghjk ":     "BCDF-GHJK",
		"bcd":             "BCD",
		"":                "",
		"bcdfghjkxyz":     "BCDF-GHJK",
		"bc\xb4df-ghé jk": "BCDF-GHJK",
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
		if len(got) > 9 || strings.ContainsAny(got, " ") || !utf8.ValidString(got) || normalizeCode(got) != got {
			t.Fatalf("normalizeCode(%q) = %q, not stable", s, got)
		}
	})
}
