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
// `sidecar serve`.
package confine

import "errors"

// ErrUnsupported means that the kernel offers no Landlock (too old, turned
// off, or refused by a seccomp filter). [Exec] then still runs the program,
// after telling its warn function.
var ErrUnsupported = errors.New("the kernel offers no Landlock sandbox")
