//go:build !linux

package confine

import (
	"fmt"
	"runtime"
	"syscall"
)

// Exec runs the program at path in place of the calling process. Only
// Linux has Landlock: here hide is ignored, after a warning.
func Exec(hide []string, path string, argv, env []string, warn func(error)) error {
	if len(hide) > 0 && warn != nil {
		warn(fmt.Errorf("%w on %s", ErrUnsupported, runtime.GOOS))
	}
	return syscall.Exec(path, argv, env)
}

// Probe tells what [Exec] can do here: nothing, without Landlock.
func Probe() Support { return support(0) }
