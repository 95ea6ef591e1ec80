package subcommand

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Sidecar {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		// Either the agent may run it, or never, with the reason: a
		// subcommand in neither would make a bare "sidecar" in
		// GUARD_ALLOW_COMMANDS mean something nobody decided.
		if s.Agent == (s.Never != "") {
			t.Errorf("%s: Agent %v, Never %q: want exactly one", s.Name, s.Agent, s.Never)
		}
		if s.Name == "" || strings.HasPrefix(s.Name, "_") || strings.HasPrefix(s.Name, "-") {
			t.Errorf("%q: not a public subcommand name", s.Name)
		}
		if len(s.Synopsis) == 0 || !strings.HasPrefix(s.Synopsis[0], s.Name) {
			t.Errorf("%s: the synopsis must start with the name: %q", s.Name, s.Synopsis)
		}
	}
	for _, want := range []string{"token", "run", "api", "status", "login", "logout", "audit", "version", "help"} {
		if s, ok := Lookup(want); !ok || !s.Agent {
			t.Errorf("%s: want an agent subcommand", want)
		}
	}
	for _, never := range []string{"serve", "guard", "health", "approvals", "keygen", "doctor"} {
		if s, ok := Lookup(never); !ok || s.Never == "" {
			t.Errorf("%s: want a never-allowed subcommand", never)
		}
	}
}

// The usage lines line up: every description starts in the same column.
func TestSynopsis(t *testing.T) {
	got := Synopsis()
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if !strings.HasPrefix(line, "  sidecar ") && !strings.HasPrefix(line, strings.Repeat(" ", 50)) {
			t.Errorf("line neither a command nor a continuation: %q", line)
		}
	}
	if !strings.Contains(got, "  sidecar token   [--profile P] --aws-credentials   AWS role credentials") {
		t.Errorf("token's second form is missing:\n%s", got)
	}
	if !strings.Contains(got, "\n                                                    print a valid access token\n") {
		t.Errorf("a continuation line is not in the description column:\n%s", got)
	}
}

func TestNearest(t *testing.T) {
	tests := []struct{ typed, want string }{
		{"tokne", "token"},
		{"toke", "token"},
		{"tokens", "token"},
		{"Token", "token"},
		{"stauts", "status"},
		{"logn", "login"},
		{"logot", "logout"},
		{"audti", "audit"},
		{"verison", "version"},
		{"hlep", "help"},
		{"frobnicate", ""},
		{"x", ""},
		{"", ""},
		{"ap", "api"},
	}
	for _, tt := range tests {
		if got := Nearest(tt.typed); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.typed, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 1},
		{"token", "token", 0},
		{"tokne", "token", 1}, // one swap
		{"otekn", "token", 2}, // two swaps
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment, not Damerau-Levenshtein (2)
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := distance(tt.b, tt.a); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
