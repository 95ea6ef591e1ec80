package cli

import (
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"
)

// Strings is a repeatable string flag (-H 'K: V' -H ...).
type Strings []string

func (s *Strings) String() string     { return strings.Join(*s, ", ") }
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// NewFlags returns a flag set that reports errors instead of exiting and
// prints its usage to w for -h or --help. name is the subcommand ("login"),
// which prefixes flag errors; a program without subcommands passes "".
//
// A parse error is printed by no one but the caller, once (Report, through
// Parse or FlagError): the flag package prints it, then the usage, to the
// set's output, which here only notes that an error came, so that the
// usage that follows it is dropped too.
func NewFlags(name string, w io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := &errorNote{}
	fs.SetOutput(out)
	fs.Usage = func() {
		if out.failed {
			out.failed = false
			return
		}
		io.WriteString(w, usage)
		if !strings.HasSuffix(usage, "\n") {
			io.WriteString(w, "\n")
		}
	}
	return fs
}

// errorNote is a flag set's output: the flag package writes to it only the
// message of a parse error, just before it calls Usage.
type errorNote struct{ failed bool }

func (n *errorNote) Write(p []byte) (int, error) { n.failed = true; return len(p), nil }

// Parse parses flags that may come before or after positional arguments
// (`sidecar api /me -X GET`), as people expect from gh and docker. A "--"
// ends flag parsing; everything after it is positional. It returns the
// positional arguments and whether a "--" was seen.
func Parse(fs *flag.FlagSet, args []string) (pos []string, dashdash bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false, FlagError(fs, err)
		}
		rest := fs.Args()
		// flag stops at "--" and swallows it; detect that case.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), true, nil
		}
		if len(rest) == 0 {
			return pos, false, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// FlagError turns what fs.Parse returned into the error to report: a
// *UsageError naming the subcommand, whose usage the hint then points to,
// with flags written as people type them (--min-ttl, not the flag
// package's -min-ttl). flag.ErrHelp passes through unchanged.
func FlagError(fs *flag.FlagSet, err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	msg := doubleDash(err.Error())
	if fs.Name() != "" {
		msg = fs.Name() + ": " + msg
	}
	return &UsageError{Msg: msg, Cmd: fs.Name()}
}

// doubleDash rewrites the flag name in the flag package's messages with
// two dashes:
//
//	flag provided but not defined: -x
//	flag needs an argument: -x
//	invalid value "v" for flag -x: ...
//	invalid boolean value "v" for -x: ...
//
// The value is skipped as the quoted string it is, so a value that looks
// like a flag is left as typed.
func doubleDash(msg string) string {
	for _, p := range []string{"flag provided but not defined: ", "flag needs an argument: "} {
		if rest, ok := strings.CutPrefix(msg, p); ok && strings.HasPrefix(rest, "-") && !strings.HasPrefix(rest, "--") {
			return p + "-" + rest
		}
	}
	for _, p := range []string{"invalid value ", "invalid boolean value "} {
		rest, ok := strings.CutPrefix(msg, p)
		if !ok {
			continue
		}
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return msg
		}
		for _, f := range []string{" for flag -", " for -"} {
			if after, ok := strings.CutPrefix(rest[len(q):], f); ok && !strings.HasPrefix(after, "-") {
				return p + q + f + "-" + after
			}
		}
	}
	return msg
}
