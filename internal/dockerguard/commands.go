package dockerguard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/subcommand"
)

// The command table: what an agent may exec in the sidecar, by program and,
// for programs with subcommands, by subcommand. Allowing a program is not
// enough: `sidecar serve` would start a second Telegram poller that takes
// the owner's /logout away from the real one, `sidecar approvals` would
// let the agent answer its own requests, and `sidecar guard`, `health`,
// `keygen` and the internal `__…` subcommands are not the agent's business.
//
// GUARD_ALLOW_COMMANDS lists entries, each "PROGRAM" or "PROGRAM:SUB":
//
//	tgauth sidecar                       the default: the table below
//	tgauth sidecar:status sidecar:api    only these two sidecar subcommands
//
// A bare program with subcommands in the table ("sidecar") stands for its
// agent subcommands; any other bare program may run with any arguments.

// CallerVar and CallerAgent are the mark the guard adds to the environment
// of every exec it lets through: DEVICEGATE_CALLER=agent. The sidecar
// applies its policy to marked commands only (a command without the mark is
// the owner's own). The agent can neither set nor remove the mark, since
// the DEVICEGATE_ prefix is protected, and everything a marked command
// starts inherits it.
const (
	CallerVar   = audit.CallerVar
	CallerAgent = audit.CallerAgent
)

// subcommandTable lists the programs whose first argument is a subcommand
// the guard checks: the ones an agent may use, and the ones it never may,
// whatever the configuration says. A subcommand in neither list is refused
// at start when configured (a typo must not pass silently). sidecar's come
// from its own table (internal/subcommand), which its dispatcher reads too.
var subcommandTable = map[string]struct{ agent, never []string }{
	"sidecar": {
		agent: subcommand.Names(func(s subcommand.Subcommand) bool { return s.Agent }),
		never: subcommand.Names(func(s subcommand.Subcommand) bool { return s.Never != "" }),
	},
}

// DefaultAllowCommands returns the command table used when
// Config.AllowCommands is nil: tgauth, and sidecar's agent subcommands.
func DefaultAllowCommands() []string {
	var out []string
	for _, sub := range subcommandTable["sidecar"].agent {
		out = append(out, "sidecar:"+sub)
	}
	return append(out, "tgauth")
}

// commandRule is one program of the parsed table.
type commandRule struct {
	program string
	anyArgs bool     // no subcommand check
	subs    []string // the allowed subcommands (Cmd[1]) otherwise
}

// commandTable is the parsed GUARD_ALLOW_COMMANDS, in the order given.
type commandTable []commandRule

// parseCommandTable expands and checks the entries of AllowCommands.
func parseCommandTable(entries []string) (commandTable, error) {
	var t commandTable
	for _, e := range entries {
		prog, sub, hasSub := strings.Cut(e, ":")
		if err := checkCommandName(prog); err != nil {
			return nil, err
		}
		known, tabled := subcommandTable[prog]
		var subs []string
		switch {
		case hasSub:
			if err := checkSubcommand(prog, sub); err != nil {
				return nil, err
			}
			subs = []string{sub}
		case tabled:
			subs = known.agent
		}
		i := slices.IndexFunc(t, func(r commandRule) bool { return r.program == prog })
		if i < 0 {
			t = append(t, commandRule{program: prog})
			i = len(t) - 1
		}
		if subs == nil {
			t[i].anyArgs = true
		}
		for _, s := range subs {
			if !slices.Contains(t[i].subs, s) {
				t[i].subs = append(t[i].subs, s)
			}
		}
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("no commands")
	}
	return t, nil
}

// checkSubcommand checks the SUB of a "PROGRAM:SUB" entry.
func checkSubcommand(prog, sub string) error {
	if sub == "" || strings.ContainsAny(sub, ":/\\\x00 \t\r\n") || sub[0] == '-' || sub[0] == '_' {
		return fmt.Errorf("invalid entry %q: want PROGRAM or PROGRAM:SUBCOMMAND", prog+":"+sub)
	}
	known, tabled := subcommandTable[prog]
	if !tabled {
		return nil
	}
	if slices.Contains(known.never, sub) {
		return fmt.Errorf("%s %s can never be allowed: it would let the agent %s", prog, sub, neverWhy(sub))
	}
	if !slices.Contains(known.agent, sub) {
		return fmt.Errorf("%s has no subcommand %q an agent may use (%s)", prog, sub, strings.Join(known.agent, ", "))
	}
	return nil
}

func neverWhy(sub string) string {
	if s, ok := subcommand.Lookup(sub); ok && s.Never != "" {
		return s.Never
	}
	return "bypass the guard"
}

// allow checks Cmd against the table. Internal (`__…`) and never-allowed
// subcommands are refused even if a table somehow lists them.
func (t commandTable) allow(cmd []string) error {
	i := slices.IndexFunc(t, func(r commandRule) bool { return r.program == cmd[0] })
	if i < 0 {
		return denyf("command %.64q is not allowed", cmd[0])
	}
	r := t[i]
	if known, tabled := subcommandTable[r.program]; tabled && len(cmd) > 1 {
		if sub := cmd[1]; strings.HasPrefix(sub, "_") || slices.Contains(known.never, sub) {
			return denyf("%s %.64s is never allowed through the guard", r.program, sub)
		}
	}
	if r.anyArgs {
		return nil
	}
	if len(cmd) < 2 {
		return denyf("%s without a subcommand (allowed: %s)", r.program, strings.Join(r.subs, ", "))
	}
	if !slices.Contains(r.subs, cmd[1]) {
		return denyf("%s %.64q is not allowed (allowed: %s)", r.program, cmd[1], strings.Join(r.subs, ", "))
	}
	return nil
}

// allows reports whether the table lets prog run with subcommand sub.
func (t commandTable) allows(prog, sub string) bool {
	cmd := []string{prog}
	if sub != "" {
		cmd = append(cmd, sub)
	}
	return t.allow(cmd) == nil
}

// String is the table as the guard's denials show it:
// "sidecar token|run|api ..., tgauth ...".
func (t commandTable) String() string {
	var parts []string
	for _, r := range t {
		switch {
		case r.anyArgs:
			parts = append(parts, r.program+" ...")
		default:
			parts = append(parts, r.program+" "+strings.Join(r.subs, "|")+" ...")
		}
	}
	return strings.Join(parts, ", ")
}

// CheckCommand reports whether the command table allowCommands (entries as
// in Config.AllowCommands; nil for the default) lets cmd run: what the
// guard decides about Cmd, before environment and `sidecar run` checks.
func CheckCommand(allowCommands, cmd []string) error {
	if allowCommands == nil {
		allowCommands = DefaultAllowCommands()
	}
	t, err := parseCommandTable(allowCommands)
	if err != nil {
		return err
	}
	if len(cmd) == 0 {
		return denyf("exec without a command")
	}
	return t.allow(cmd)
}
