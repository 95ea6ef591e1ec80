// Package subcommand is the one list of sidecar's subcommands: their
// names, the lines `sidecar help` shows for them, and whether the agent may
// run them through the Docker socket guard. cmd/sidecar dispatches on it
// and prints its usage from it; internal/dockerguard takes its default
// allowed and never-allowed subcommands from it. A new subcommand is one
// row here and one file in cmd/sidecar.
//
// It links nothing but the standard library, so the guard can read it
// without linking the sidecar.
package subcommand

import "strings"

// Subcommand is one of sidecar's subcommands.
type Subcommand struct {
	Name string
	// Synopsis is its lines in `sidecar help`, after "sidecar ":
	// arguments, then what it does.
	Synopsis []string
	// Agent reports whether the guard lets the agent run it by default
	// (GUARD_ALLOW_COMMANDS unset or a bare "sidecar").
	Agent bool
	// Never, for a subcommand the guard refuses whatever it is configured
	// with, says what running it would let the agent do.
	Never string
}

// Sidecar is every public subcommand of sidecar, in the order `sidecar
// help` and the guard's messages list them: the agent's, most used first.
// Internal subcommands (`__refresh`, `__confined`) start with "_", are not
// listed, and the guard never lets them through.
var Sidecar = []Subcommand{
	{Name: "token", Agent: true, Synopsis: []string{
		"token   [--profile P] [--min-ttl D] [--scope 'S1 S2'] [--json]",
		"                                          print a valid access token",
		"token   [--profile P] --aws-credentials   AWS role credentials (credential_process)"}},
	{Name: "run", Agent: true, Synopsis: []string{
		"run     [--profile P] [--scope 'S1 S2'] [--env NAME]... -- CMD [ARGS...]",
		"                                          run CMD with a placeholder in ACCESS_TOKEN; a",
		"                                          proxy adds the token (aws: AWS_ACCESS_KEY_ID etc.)"}},
	{Name: "api", Agent: true, Synopsis: []string{
		"api     [--profile P] [--scope 'S1 S2'] [-X METHOD] [-H 'K: V']... [-d DATA] PATH|URL",
		"                                          call the provider's API"}},
	{Name: "status", Agent: true, Synopsis: []string{
		"status  [--profile P | --all] [--json]    who is signed in, scopes, expiry"}},
	{Name: "login", Agent: true, Synopsis: []string{
		"login   [--profile P] [--flow device|code] [--force] [--once] [--json]",
		"                                          sign in (device code, or code flow)"}},
	{Name: "logout", Agent: true, Synopsis: []string{
		"logout  [--profile P] [--force]           revoke at the provider and forget"}},
	{Name: "audit", Agent: true, Synopsis: []string{
		"audit   [--profile P] [--since D] [--last N] [--json]",
		"                                          what was done with the sign-ins"}},
	{Name: "serve", Never: "start a second listener that silences the owner's /logout", Synopsis: []string{
		"serve                                     keep sign-ins alive (container process)"}},
	{Name: "guard", Never: "start another Docker socket proxy", Synopsis: []string{
		"guard                                     filtering proxy for the Docker socket"}},
	{Name: "health", Never: "probe the container's internals", Synopsis: []string{
		"health  [--guard]                         container health check"}},
	{Name: "approvals", Never: "answer its own requests for the owner's approval", Synopsis: []string{
		"approvals                                 answer the agent's requests from this terminal (owner)"}},
	{Name: "keygen", Never: "make cache keys in the sidecar", Synopsis: []string{
		"keygen  [--out FILE]                      print a new SIDECAR_CACHE_KEY (or create FILE)"}},
	{Name: "doctor", Never: "read the setup's secrets and probe the bot and the engine", Synopsis: []string{
		"doctor  [--guard]                         check the whole setup, every problem with its fix"}},
	{Name: "version", Agent: true, Synopsis: []string{
		"version                                   print the version"}},
	{Name: "help", Agent: true, Synopsis: []string{
		"help    [COMMAND]                         this text, or COMMAND's usage"}},
}

// Lookup returns the subcommand called name.
func Lookup(name string) (Subcommand, bool) {
	for _, s := range Sidecar {
		if s.Name == name {
			return s, true
		}
	}
	return Subcommand{}, false
}

// Names returns the names of the subcommands for which keep is true, in
// table order.
func Names(keep func(Subcommand) bool) []string {
	var out []string
	for _, s := range Sidecar {
		if keep(s) {
			out = append(out, s.Name)
		}
	}
	return out
}

// Synopsis is the "Usage:" block of `sidecar help`: every subcommand's
// lines, indented, each prefixed by "sidecar ".
func Synopsis() string {
	var b strings.Builder
	for _, s := range Sidecar {
		for i, line := range s.Synopsis {
			if i == 0 || strings.HasPrefix(line, s.Name+" ") {
				b.WriteString("  sidecar " + line + "\n")
			} else {
				b.WriteString("  " + strings.Repeat(" ", len("sidecar ")) + line + "\n")
			}
		}
	}
	return b.String()
}

// Nearest returns the subcommand name closest to what someone typed
// ("tokne" → "token"), or "" when none is close: at most two edits away,
// counting a swap of neighbours as one, and fewer than the word's length.
func Nearest(typed string) string {
	best, bestD := "", 3
	for _, s := range Sidecar {
		d := distance(strings.ToLower(typed), s.Name)
		if d < bestD && d < len(typed) {
			best, bestD = s.Name, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of two neighbouring
// bytes, each costing one.
func distance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
