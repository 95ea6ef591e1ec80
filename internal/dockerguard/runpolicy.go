package dockerguard

import (
	"errors"
	"fmt"
	"strings"
)

// `sidecar run -- TOOL ARGS...` starts TOOL in the sidecar with the owner's
// access token in its environment. Letting "sidecar" through by name would
// therefore let the agent start any program there (`sidecar run -- sh`) and
// with it read everything the sidecar can. So the guard looks inside
// `sidecar run`: TOOL must be one of Config.RunTools, and the exec may not
// carry environment variables, since any of them may steer the tool (GH_HOST
// sends the token elsewhere, GH_PAGER runs a program, GH_CONFIG_DIR loads
// aliases that run shell commands).

// runRule is one subcommand of sidecar that starts another program.
type runRule struct {
	sub string // the subcommand: Cmd[1]
	// tool returns the program the subcommand would start from the
	// arguments after the subcommand, or an error when the guard cannot
	// tell for certain.
	tool func(args []string) (string, error)
}

// runRules lists every sidecar subcommand that starts another program.
// The others (token, api, status, login, ...) never do.
var runRules = []runRule{
	{"run", SidecarRunTool},
}

// SidecarRunValueFlags are the flags of `sidecar run` that take a value.
// cmd/sidecar's TestGuardKnowsRunFlags fails when `sidecar run` gains a flag
// that is not listed here, so that the guard's parse never falls behind.
var SidecarRunValueFlags = []string{"profile", "env", "min-ttl", "scope"}

// errRunHelp is returned for `sidecar run -h`: it runs nothing, but there is
// no reason to allow it either.
var errRunHelp = errors.New("help flag")

// SidecarRunTool returns the program that `sidecar run ARGS...` starts, ARGS
// being the arguments after "run". It follows the rules of Go's flag
// package, which `sidecar run` parses its flags with, and returns an error
// for everything on which sidecar would stop with a usage error instead, so
// that the guard and sidecar can never disagree about which program runs:
//
//   - "-name" and "--name" are the same flag; "-name=value" or "-name value",
//     where the value is taken as it is, even when it starts with "-";
//   - a lone "-" or any word not starting with "-" ends the flags and is the
//     program;
//   - "--" ends the flags, and the word after it is the program;
//   - "---x", "-=x", unknown flags and -h/-help are errors.
func SidecarRunTool(args []string) (string, error) {
	for i := 0; i < len(args); i++ {
		s := args[i]
		if len(s) < 2 || s[0] != '-' {
			return s, nil
		}
		dashes := 1
		if s[1] == '-' {
			dashes = 2
			if len(s) == 2 { // "--"
				if i+1 == len(args) {
					return "", errors.New("no program after --")
				}
				return args[i+1], nil
			}
		}
		name := s[dashes:]
		if name == "" || name[0] == '-' || name[0] == '=' {
			return "", fmt.Errorf("bad flag syntax %.64q", s)
		}
		name, _, hasValue := strings.Cut(name, "=")
		switch {
		case contains(SidecarRunValueFlags, name):
			if !hasValue {
				if i+1 == len(args) {
					return "", fmt.Errorf("flag -%.32s needs a value", name)
				}
				i++
			}
		case name == "h" || name == "help":
			return "", errRunHelp
		default:
			return "", fmt.Errorf("unknown flag %.64q", s)
		}
	}
	return "", errors.New("no program to run")
}

// checkRun applies the run rules to an exec of sidecar.
func (p execPolicy) checkRun(opts execCreateBody) error {
	if opts.Cmd[0] != "sidecar" || len(opts.Cmd) < 2 {
		return nil
	}
	for _, r := range runRules {
		if opts.Cmd[1] != r.sub {
			continue
		}
		tool, err := r.tool(opts.Cmd[2:])
		if errors.Is(err, errRunHelp) {
			return denyf("sidecar %s --help (use sidecar help)", r.sub)
		}
		if err != nil {
			return denyf("sidecar %s: %v", r.sub, err)
		}
		if len(p.runTools) == 0 {
			return denyf("sidecar %s: no tools are allowed (the owner lists them in GUARD_RUN_TOOLS)", r.sub)
		}
		if !contains(p.runTools, tool) {
			return denyf("sidecar %s: program %.64q is not allowed (allowed: %s)", r.sub, tool, strings.Join(p.runTools, ", "))
		}
		if len(opts.Env) > 0 {
			return denyf("sidecar %s with environment variables (they could steer the tool)", r.sub)
		}
	}
	return nil
}
