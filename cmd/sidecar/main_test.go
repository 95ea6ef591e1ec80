package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/devicegate/devicegate/internal/tokencache"

	"github.com/devicegate/devicegate/internal/testing/clitest"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as `sidecar` for the scripts and for
// the end-to-end tests, which find it on $PATH.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sidecar":   main,
		testDialCmd: testDialMain,
	})
}

// TestScripts runs testdata/script/*.txtar: the command line as a person
// meets it, without a provider. `exits N sidecar ...` checks the exit code.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: withSeal(clitest.Cmds()),
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/data")
			return nil
		},
	})
}

// withSeal adds `seal KEY PLAIN DIR`: the cache entry in the file PLAIN
// saved encrypted with KEY into the cache directory DIR, as sidecar with
// SIDECAR_CACHE_KEY=KEY would have written it.
func withSeal(cmds map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds["seal"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: seal KEY PLAIN DIR")
		}
		key, err := tokencache.ParseKey(args[0])
		ts.Check(err)
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		var e tokencache.Entry
		ts.Check(json.Unmarshal(b, &e))
		st, err := tokencache.Open(filepath.Clean(ts.MkAbs(args[2])), key)
		ts.Check(err)
		ts.Check(st.Save(&e))
	}
	return cmds
}
