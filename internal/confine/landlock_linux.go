package confine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Why raw system calls rather than github.com/landlock-lsm/go-landlock:
// what this package does is the walk that grants every entry but the
// hidden ones (grantAllBut), which the library's allow-list helpers do not
// shorten; its ABI bookkeeping is the few lines of rights and scopes
// below; and it restricts every thread of the process (through
// AllThreadsSyscall, or libpsx under cgo), where a process about to exec
// needs only the calling thread. Adding scopes was one field here.

// Access rights by Landlock ABI version (include/uapi/linux/landlock.h).
// Handling a right denies it everywhere not granted; rights an older
// kernel does not know cannot be handled, and stay allowed.
const (
	fileRightsV1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE
	dirRightsV1  = unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	accessFSRefer    = 1 << 13 // ABI 2: link or rename into another directory
	accessFSTruncate = 1 << 14 // ABI 3: truncate(2) and O_TRUNC
	accessFSIoctlDev = 1 << 15 // ABI 5: ioctl on device files

	// scopes (ABI 6, Linux 6.12): a sandboxed process may send signals,
	// and connect to abstract unix sockets, only within its own domain.
	// Without the first, a tool running as the sidecar's user could stop
	// or kill `sidecar serve` (and with it /logout and the approvals).
	scopes = unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	// scopeABI is the first Landlock ABI with scopes.
	scopeABI = 6
)

// rights returns the rights to handle, and those that can be granted on a
// file that is not a directory, for a Landlock ABI version.
func rights(abi int) (all, file uint64) {
	file = fileRightsV1
	all = fileRightsV1 | dirRightsV1
	if abi >= 2 {
		all |= accessFSRefer
	}
	if abi >= 3 {
		all |= accessFSTruncate
		file |= accessFSTruncate
	}
	if abi >= 5 {
		all |= accessFSIoctlDev
		file |= accessFSIoctlDev
	}
	return all, file
}

// Exec makes every path in hide, and everything beneath it, inaccessible to
// the calling process and everything it starts, and (from Landlock ABI 6)
// keeps them from signalling processes, or connecting to abstract unix
// sockets, outside the sandbox; then it replaces the process with the
// program at path. It returns only on failure. When the kernel has no
// Landlock it calls warn with an error wrapping [ErrUnsupported], and when
// its Landlock has no scopes with one wrapping [ErrNoScopes], and runs the
// program anyway.
//
// Landlock applies to the calling thread, and execve keeps the sandbox of
// the thread that calls it: so the thread is locked from the first
// restriction to the exec.
func Exec(hide []string, path string, argv, env []string, warn func(error)) error {
	runtime.LockOSThread()
	// Never unlocked: on success the process is replaced; on failure the
	// thread may be half restricted and must not run other goroutines.
	err := restrict(hide)
	if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrNoScopes) {
		if warn != nil {
			warn(err)
		}
	} else if err != nil {
		return err
	}
	return unix.Exec(path, argv, env)
}

// abi returns the kernel's Landlock ABI version.
func abi() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, fmt.Errorf("%w (landlock_create_ruleset: %v)", ErrUnsupported, errno)
	}
	return int(v), nil
}

func probe() error {
	_, err := abi()
	return err
}

// Probe tells what the kernel's Landlock lets [Exec] do.
func Probe() Support {
	v, err := abi()
	if err != nil {
		return support(0)
	}
	return support(v)
}

func restrict(hide []string) error {
	v, err := abi()
	if err != nil {
		return err
	}
	all, file := rights(v)
	attr := unix.LandlockRulesetAttr{Handled_access_fs: all}
	if v >= scopeABI {
		attr.Scoped = scopes
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return fmt.Errorf("creating the Landlock ruleset: %w", errno)
	}
	defer unix.Close(int(fd))

	hidden, err := cleanPaths(hide)
	if err != nil {
		return err
	}
	// Listing directories stays allowed everywhere, hidden ones included
	// (a rule covers everything beneath it): tools list directories on
	// their own, and names are not what is hidden.
	if err := grant(int(fd), "/", unix.LANDLOCK_ACCESS_FS_READ_DIR, 0); err != nil {
		return err
	}
	if err := grantAllBut(int(fd), "/", hidden, all, file); err != nil {
		return err
	}
	// Required of an unprivileged process (and set anyway in a container
	// started with no-new-privileges): no setuid program can shed the
	// sandbox.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("applying the Landlock ruleset: %w", errno)
	}
	if v < scopeABI {
		return fmt.Errorf("%w: Landlock ABI %d needed, kernel has %d", ErrNoScopes, scopeABI, v)
	}
	return nil
}

// cleanPaths makes the hidden paths absolute and free of symbolic links,
// since a rule is about where a path leads. A path that does not exist has
// nothing to hide.
func cleanPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		real, err := filepath.EvalSymlinks(abs)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", p, err)
		}
		if real == "/" {
			return nil, errors.New("cannot hide the root directory")
		}
		out = append(out, real)
	}
	return out, nil
}

// grantAllBut grants every entry of dir, except hidden paths and the
// directories that lead to them, into which it descends.
func grantAllBut(ruleset int, dir string, hidden []string, all, file uint64) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			continue // access is checked where the link leads
		}
		switch relate(p, hidden) {
		case hiddenExactly:
			continue
		case above:
			if err := grantAllBut(ruleset, p, hidden, all, file); err != nil {
				return err
			}
			continue
		}
		if err := grant(ruleset, p, all, file); err != nil {
			return err
		}
	}
	return nil
}

type relation int

const (
	unrelated relation = iota
	hiddenExactly
	above // an ancestor of a hidden path
)

// relate tells how p relates to the hidden paths.
func relate(p string, hidden []string) relation {
	r := unrelated
	for _, h := range hidden {
		switch {
		case h == p:
			return hiddenExactly
		case strings.HasPrefix(h, p+"/"):
			r = above
		}
	}
	return r
}

func grant(ruleset int, p string, all, file uint64) error {
	// O_PATH|O_NOFOLLOW: no read permission needed, and never the target
	// of a link that was swapped in since ReadDir.
	fd, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		// Gone, or not ours to see: it stays denied.
		return nil
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil
	}
	access := all
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
	case unix.S_IFLNK:
		return nil
	default:
		access = file
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("granting %s: %w", p, errno)
	}
	return nil
}
