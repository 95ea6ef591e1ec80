// Package version reports the build's version, in one place, so that
// `sidecar version`, `tgauth version` and bug reports agree on it.
package version

import "runtime/debug"

// Version is set at build time with
// -ldflags "-X github.com/devicegate/devicegate/internal/version.Version=v1.2.3".
var Version = ""

// String returns the version: the linker-set one, else the module version
// recorded by `go install`, else "devel".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
