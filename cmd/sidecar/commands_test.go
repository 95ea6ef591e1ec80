package main

import (
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/detach"
	"github.com/devicegate/devicegate/internal/subcommand"
)

// TestCommandsMatchTable: every subcommand of the table (what the usage
// lists and the guard allows) runs, and nothing runs that the table does
// not list but the hidden `__` ones.
func TestCommandsMatchTable(t *testing.T) {
	for _, s := range subcommand.Sidecar {
		if _, ok := commands[s.Name]; !ok && s.Name != "help" {
			t.Errorf("%s is in internal/subcommand but Main does not run it", s.Name)
		}
		if !strings.Contains(usage(), "sidecar "+s.Name) {
			t.Errorf("usage does not list %s", s.Name)
		}
	}
	for name := range commands {
		if _, ok := subcommand.Lookup(name); !ok && !strings.HasPrefix(name, "__") {
			t.Errorf("Main runs %s, which internal/subcommand does not list", name)
		}
	}
	for _, hidden := range []string{detach.Command, confinedCmd} {
		if _, ok := commands[hidden]; !ok || !strings.HasPrefix(hidden, "__") {
			t.Errorf("hidden subcommand %q must start with __ and be dispatched", hidden)
		}
	}
}
