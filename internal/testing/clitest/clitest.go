// Package clitest holds the testscript commands the command-line tests
// share, so that a script says which exit code it expects rather than
// only that the command failed.
package clitest

import (
	"errors"
	"os/exec"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// Run runs the scripts in dir (testdata/script): each in a fresh work
// directory whose data/ holds the token cache, with the commands of Cmds.
func Run(t *testing.T, dir string) {
	testscript.Run(t, testscript.Params{
		Dir:  dir,
		Cmds: Cmds(),
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/data")
			return nil
		},
	})
}

// Cmds are the custom script commands:
//
//	exits N program [args...]
//
// runs the program like exec and fails the script unless it exits with
// status N; stdout and stderr are then checked as after exec.
func Cmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"exits": exits,
	}
}

func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit status", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
