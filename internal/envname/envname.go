// Package envname is the one rule for environment variable names that
// devicegate accepts from someone else: the guard for the Env of an agent's
// `docker exec`, and `sidecar run --env NAME`.
package envname

// MaxLen is the longest name accepted. POSIX sets no limit; real names are
// short, and a longer one is a mistake or an attempt to flood a log line or
// an error message.
const MaxLen = 256

// Valid reports whether name is a portable shell variable name
// (^[A-Za-z_][A-Za-z0-9_]*$, POSIX.1-2017 XBD 8.1) of at most MaxLen bytes.
// It keeps out look-alikes such as "PATH " or names holding "=" or NUL,
// which the Docker daemon and execve(2) would read differently. It is
// written out so that no regular expression is compiled at start.
func Valid(name string) bool {
	if name == "" || len(name) > MaxLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
