package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as `sidecar` for the scripts and for
// the end-to-end tests, which find it on $PATH.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sidecar": main,
	})
}

// TestScripts runs testdata/script/*.txtar: the command line as a person
// meets it, without a provider.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/data")
			return nil
		},
	})
}
