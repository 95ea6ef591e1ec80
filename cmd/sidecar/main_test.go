package main

import (
	"testing"

	"github.com/devicegate/devicegate/internal/cli/clitest"
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
// meets it, without a provider. `exits N sidecar ...` checks the exit code.
func TestScripts(t *testing.T) {
	clitest.Run(t, "testdata/script")
}
