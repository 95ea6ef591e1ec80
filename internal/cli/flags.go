package cli

import (
	"flag"
	"io"
	"strings"
)

// Strings is a repeatable string flag (-H 'K: V' -H ...).
type Strings []string

func (s *Strings) String() string     { return strings.Join(*s, ", ") }
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// NewFlags returns a flag set that reports errors instead of exiting and
// prints its usage to w. name is the subcommand ("login"), which prefixes
// flag errors; a program without subcommands passes "".
func NewFlags(name string, w io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		io.WriteString(w, usage)
		if !strings.HasSuffix(usage, "\n") {
			io.WriteString(w, "\n")
		}
	}
	return fs
}

// Parse parses flags that may come before or after positional arguments
// (`sidecar api /me -X GET`), as people expect from gh and docker. A "--"
// ends flag parsing; everything after it is positional. It returns the
// positional arguments and whether a "--" was seen.
func Parse(fs *flag.FlagSet, args []string) (pos []string, dashdash bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, false, err
			}
			if fs.Name() == "" {
				return nil, false, Usagef("%v", err)
			}
			return nil, false, Usagef("%s: %v", fs.Name(), err)
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
