package confine

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// AwaitExit waits until the child pid has exited, and leaves it to be
// reaped (exec.Cmd.Wait): until then neither its process id nor its
// process group id can be reused.
func AwaitExit(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// AdoptOrphans makes the calling process the reaper of every descendant
// orphaned from now on (PR_SET_CHILD_SUBREAPER), in place of init: so that
// [KillOrphans] finds the processes a tool leaves behind, even those that
// left its process group with setsid(2).
func AdoptOrphans() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("becoming the reaper of orphaned processes: %w", err)
	}
	return nil
}

// KillOrphans kills (SIGKILL) and reaps every child of the calling
// process other than keep, and then those orphaned by their death, until
// none is left. After [AdoptOrphans], that is every process a tool
// started that outlived it.
func KillOrphans(keep int) error {
	self := os.Getpid()
	for {
		kids, err := children(self)
		if err != nil {
			return err
		}
		n := 0
		for _, pid := range kids {
			if pid == keep {
				continue
			}
			n++
			_ = unix.Kill(pid, unix.SIGKILL)
			for {
				_, err := unix.Wait4(pid, nil, 0, nil)
				if !errors.Is(err, unix.EINTR) {
					break
				}
			}
		}
		if n == 0 {
			return nil
		}
	}
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold anything, the last
		// ')' ends it.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out, nil
}
