package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every sidecar command, `sidecar token` on its hot path included, pays for
// the package initialisation of everything the binary links. This test
// fails when one of our packages starts doing real work at init (compiling
// a regular expression, building a table) or when a dependency known for it
// comes back: do such work on first use (sync.OnceValue) instead.
// It counts bytes allocated, which do not depend on the machine's speed.
func TestNoWorkAtInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sidecar binary")
	}
	bin := filepath.Join(t.TempDir(), "sidecar")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var trace bytes.Buffer
	cmd.Stderr = &trace
	if err := cmd.Run(); err != nil {
		t.Fatalf("sidecar version: %v\n%s", err, &trace)
	}
	const ours, limit = "github.com/devicegate/devicegate/", 4096
	banned := map[string]string{
		"github.com/opencontainers/go-digest":  "registers digest algorithms (linked by the Docker API types)",
		"github.com/kelseyhightower/envconfig": "compiles two regular expressions",
	}
	seen := 0
	sc := bufio.NewScanner(&trace)
	for sc.Scan() {
		// init <package> @0.5 ms, 0.01 ms clock, 432 bytes, 18 allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" {
			continue
		}
		seen++
		pkg := f[1]
		if why, ok := banned[pkg]; ok {
			t.Errorf("%s is linked again: it %s at every start", pkg, why)
		}
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("cannot read %q", sc.Text())
		}
		if (pkg == "main" || strings.HasPrefix(pkg, ours)) && n > limit {
			t.Errorf("%s allocates %d bytes at init (limit %d): do that work on first use", pkg, n, limit)
		}
	}
	if seen == 0 {
		t.Fatalf("no init trace:\n%s", &trace)
	}
}
