// Package privdrop lets a program started as root give up root for an
// unprivileged user that keeps access to one Unix socket, by joining the
// socket's group.
//
// The Docker socket guard needs exactly one right: to connect to the
// engine's socket. The socket's group differs between hosts (root:docker
// with a distribution's own gid on a Linux engine, root:root on Docker
// Desktop), so naming it in the compose file needs a variable a newcomer
// has to set. Started as root with only CAP_SETUID and CAP_SETGID, the
// guard instead reads the group from the socket itself and drops to its
// own user with that one supplementary group before it accepts anything;
// the setuid(2) to a non-zero user clears every capability (capabilities(7),
// "Effect of user ID changes on capabilities").
package privdrop

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrNotRoot is returned by [ToSocketGroup] when the process is not root:
// it has nothing to drop, and runs as whoever started it.
var ErrNotRoot = errors.New("not running as root")

// ToSocketGroup, when the process runs as root, sets its groups to the
// group of socket alone, then its group to gid and its user to uid, on every
// thread (Go's syscall package applies them process-wide since Go 1.16).
// It returns the socket's group. Without root it changes nothing and
// returns ErrNotRoot. A uid or gid of 0 is refused: the point is to leave
// root.
func ToSocketGroup(socket string, uid, gid int) (int, error) {
	if os.Geteuid() != 0 {
		return 0, ErrNotRoot
	}
	if uid <= 0 || gid <= 0 {
		return 0, fmt.Errorf("privdrop: refusing to run as uid %d gid %d: want a user other than root", uid, gid)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(socket, &st); err != nil {
		return 0, fmt.Errorf("privdrop: %s: %w", socket, err)
	}
	sockGID := int(st.Gid)
	if err := syscall.Setgroups([]int{sockGID}); err != nil {
		return 0, fmt.Errorf("privdrop: setgroups(%d): %w (the container needs CAP_SETGID)", sockGID, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return 0, fmt.Errorf("privdrop: setgid(%d): %w (the container needs CAP_SETGID)", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return 0, fmt.Errorf("privdrop: setuid(%d): %w (the container needs CAP_SETUID)", uid, err)
	}
	// No way back: a process that could regain root has not dropped it.
	if syscall.Setuid(0) == nil {
		return 0, errors.New("privdrop: still able to become root after setuid")
	}
	return sockGID, nil
}
