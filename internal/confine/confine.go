// Package confine hides files from a program and everything it starts.
//
// `sidecar run -- TOOL` gives TOOL the access token, but TOOL runs as the
// sidecar's own user, so it could otherwise read what the sidecar reads:
// the token cache (every profile's refresh token) and the secret files
// (cache key, bot token, client secret). A tool that can read a file and
// send it somewhere (`gh api -F body=@FILE`) would then hand the agent far
// more than one access token. So sidecar run starts TOOL through [Exec],
// which takes those paths away with Landlock (Linux 5.13 and later, an
// unprivileged sandbox that a process applies to itself and that every
// program it starts inherits; https://docs.kernel.org/userspace-api/landlock.html).
//
// Landlock only allows: a sandboxed process may use the file hierarchies it
// was granted, nothing else. To take away a few paths, Exec grants every
// entry of the root directory except those on the way to a hidden path,
// and descends into those, granting their other entries in turn; only
// listing directories stays allowed everywhere (the names of hidden files
// can be seen, not their contents). The directories on the way to a hidden
// path keep their entries usable but take no new ones (no new file in /data
// or /run; nothing in $HOME itself when the cache is in ~/.local/share):
// granting that would grant it beneath, in the hidden directory too. Symbolic
// links need no grant (access is checked on where they lead), so a link
// into a hidden directory leads nowhere. Landlock also keeps the sandboxed
// process, unless it has CAP_SYS_PTRACE (the sidecar has no capabilities),
// from tracing or reading the memory of processes outside it, such as
// `sidecar serve`; from Landlock ABI 6 (Linux 6.12) it also keeps it from
// signalling them (a tool could otherwise stop or kill serve, silencing
// /logout and the approvals) and from connecting to abstract unix sockets
// made outside it. [Probe] tells what the running kernel allows.
//
// For a tool the agent runs, sidecar run also keeps the tool's processes
// together and ends them with it: [Detach] starts it in a session of its
// own with no controlling terminal, [AdoptOrphans] makes sidecar run the
// reaper of whatever it leaves orphaned, and once it exits ([AwaitExit])
// [KillGroup] and [KillOrphans] kill what it left running, including
// processes that left its process group with setsid(2). Only a process
// that outlives sidecar run itself (killed with SIGKILL) escapes, and it
// stays in the sandbox.
package confine

import (
	"errors"
	"fmt"
)

// ErrUnsupported means that the kernel offers no Landlock (too old, turned
// off, or refused by a seccomp filter). [Exec] then still runs the program,
// after telling its warn function.
var ErrUnsupported = errors.New("the kernel offers no Landlock sandbox")

// ErrNoScopes means that the kernel's Landlock hides files but is older
// than ABI 6, so the program can still signal processes, and connect to
// abstract unix sockets, outside its sandbox. [Exec] then still runs it,
// after telling its warn function.
var ErrNoScopes = errors.New("no Landlock signal and abstract unix socket scoping")

// Support is what the kernel's Landlock lets [Exec] do to a program, for
// `sidecar status`.
type Support struct {
	// ABI is the kernel's Landlock ABI version, 0 without Landlock.
	ABI int `json:"landlock_abi"`
	// HidesFiles: the program cannot read the hidden paths.
	HidesFiles bool `json:"hides_files"`
	// ScopesSignals: it cannot signal processes outside its sandbox.
	ScopesSignals bool `json:"scopes_signals"`
	// ScopesAbstractUnixSockets: it cannot connect to abstract unix
	// sockets made outside its sandbox.
	ScopesAbstractUnixSockets bool `json:"scopes_abstract_unix_sockets"`
	// Missing says, a sentence each, what a program can do that it
	// could not on a newer kernel.
	Missing []string `json:"missing,omitempty"`
}

// support is what Landlock ABI version v (0: none) allows.
func support(v int) Support {
	s := Support{ABI: v, HidesFiles: v >= 1, ScopesSignals: v >= 6, ScopesAbstractUnixSockets: v >= 6}
	need := func(abi int) string {
		if v == 0 {
			return fmt.Sprintf("Landlock ABI %d needed, the kernel has no Landlock", abi)
		}
		return fmt.Sprintf("Landlock ABI %d needed, kernel has %d", abi, v)
	}
	if !s.HidesFiles {
		s.Missing = append(s.Missing, "tools can read the token cache and the secret files: "+need(1))
	}
	if !s.ScopesSignals {
		s.Missing = append(s.Missing, "tools can signal other processes (stop or kill sidecar serve): "+need(6))
	}
	if !s.ScopesAbstractUnixSockets {
		s.Missing = append(s.Missing, "tools can connect to abstract unix sockets outside their sandbox: "+need(6))
	}
	return s
}
