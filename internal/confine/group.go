package confine

import (
	"errors"
	"os/exec"
	"syscall"
)

// Detach makes cmd start in a session and process group of its own, with
// no controlling terminal: it cannot open /dev/tty, nor take a terminal as
// its own, and [KillGroup] ends it with everything it started that stayed
// in its group. For a tool the agent runs: what it writes to a terminal
// would reach the agent without the masking of its output.
func Detach(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = false
}

// KillGroup kills (SIGKILL) every process in the process group led by
// pid. Call it after [AwaitExit] and before reaping pid, so that no other
// group can have taken the id. A group with nobody left is not an error.
func KillGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
