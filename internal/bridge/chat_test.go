package bridge

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		text string
		ok   bool
		want Command
	}{
		{"/auth", true, Command{Name: "/auth", Args: []string{}}},
		{"  /AUTH@devicegate_bot work force ", true, Command{Name: "/auth", Args: []string{"work", "force"}}},
		{"/status", true, Command{Name: "/status", Args: []string{}}},
		{"hello /auth", false, Command{}},
		{"", false, Command{}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, ok := ParseCommand(tt.text)
			if ok != tt.ok || got.Name != tt.want.Name || !slices.Equal(got.Args, tt.want.Args) {
				t.Fatalf("ParseCommand(%q) = %+v, %v; want %+v, %v", tt.text, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// A command's name is what the person typed before any @bot, lower case;
// its arguments are the remaining words, unchanged.
func FuzzParseCommand(f *testing.F) {
	f.Add("/auth@bot work force")
	f.Add("/STATUS")
	f.Add("text")
	f.Fuzz(func(t *testing.T, text string) {
		cmd, ok := ParseCommand(text)
		fields := strings.Fields(text)
		if !ok {
			if len(fields) > 0 && strings.HasPrefix(fields[0], "/") {
				t.Fatalf("%q not taken for a command", text)
			}
			return
		}
		if !strings.HasPrefix(cmd.Name, "/") || strings.Contains(cmd.Name, "@") || cmd.Name != strings.ToLower(cmd.Name) {
			t.Fatalf("name %q from %q", cmd.Name, text)
		}
		if !slices.Equal(cmd.Args, fields[1:]) {
			t.Fatalf("args %q from %q", cmd.Args, text)
		}
	})
}
