package dockerguard

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Config configures a [Guard]. Zero fields take the documented defaults.
type Config struct {
	// Upstream is the path of the real Docker socket, e.g. /var/run/docker.sock.
	// Required.
	Upstream string

	// AllowCommands is the command table (GUARD_ALLOW_COMMANDS): entries
	// "PROGRAM" or "PROGRAM:SUBCOMMAND". Cmd[0] must equal a program
	// exactly (no paths, no base-name matching), and for a program with
	// subcommands (sidecar) Cmd[1] must be one allowed for it; a bare
	// "sidecar" stands for the subcommands an agent may use. sidecar serve,
	// guard, health, keygen, doctor and its internal subcommands are never allowed.
	// Nil means [DefaultAllowCommands]. See commands.go.
	AllowCommands []string

	// RunTools lists the programs `sidecar run -- TOOL ...` may start in
	// the sidecar with the owner's token (GUARD_RUN_TOOLS). Like
	// AllowCommands: exact program names, no paths. Nil or empty: none,
	// and every `sidecar run` is refused. See [SidecarRunTool].
	RunTools []string

	// Project and Service are the compose labels that locate the sidecar
	// (com.docker.compose.project and com.docker.compose.service), on a
	// container that also has com.docker.compose.oneoff=False.
	// Defaults "myapp" and "sidecar".
	Project, Service string

	// ProtectedEnvPrefixes lists environment names an exec may not set or
	// unset, compared case-insensitively. An entry ending in "_" is a prefix
	// (OAUTH_ protects OAUTH_CLIENT_ID); any other entry is an exact name.
	// Nil means [DefaultProtectedEnv].
	ProtectedEnvPrefixes []string

	// MaxBodyBytes bounds every request body the guard reads. Default 64 KiB.
	MaxBodyBytes int64

	// Logger receives one record per request decision. Nil discards.
	Logger *slog.Logger
}

const (
	defaultProject      = "myapp"
	defaultService      = "sidecar"
	defaultMaxBodyBytes = 64 << 10

	labelProject = "com.docker.compose.project"
	labelService = "com.docker.compose.service"
	labelOneoff  = "com.docker.compose.oneoff"
)

// DefaultProtectedEnv returns the protected environment names used when
// Config.ProtectedEnvPrefixes is nil.
//
// Beyond the sidecar's own configuration (OAUTH_, SIDECAR_, TELEGRAM_,
// GUARD_) and the caller mark (DEVICEGATE_CALLER, see [CallerVar]) it
// covers what changes which binary runs or which code it loads (PATH, LD_*,
// GODEBUG), where it keeps files (HOME, XDG_*, TMPDIR) and whom it trusts on
// the network (SSL_CERT_*, the proxy variables), since any of those would let
// the caller redirect the OAuth traffic or read the tokens.
func DefaultProtectedEnv() []string {
	return []string{
		"OAUTH_", "SIDECAR_", "TELEGRAM_", "DEVICEGATE_", "GUARD_", "XDG_", "LD_",
		"PATH", "HOME", "TMPDIR", "GODEBUG",
		"SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY",
	}
}

// ProtectedEnv reports whether name is one of the [DefaultProtectedEnv]
// names (compared case-insensitively, "_"-ended entries as prefixes): the
// names an exec may not set, which `sidecar run --env NAME` may not set
// either.
func ProtectedEnv(name string) bool {
	up := strings.ToUpper(name)
	for _, p := range DefaultProtectedEnv() {
		if up == p || strings.HasSuffix(p, "_") && strings.HasPrefix(up, p) {
			return true
		}
	}
	return false
}

// ParseCommands parses a GUARD_ALLOW_COMMANDS or GUARD_RUN_TOOLS value:
// entries separated by spaces and/or commas. [New] checks the entries. An empty value returns nil, which [New] replaces
// with [DefaultAllowCommands].
func ParseCommands(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n'
	})
	if len(fields) == 0 {
		return nil, nil
	}
	for _, f := range fields {
		prog, _, _ := strings.Cut(f, ":")
		if err := checkCommandName(prog); err != nil {
			return nil, err
		}
	}
	return fields, nil
}

// checkCommandName accepts plain program names. A path would name a
// different binary than the one the sidecar image puts on its PATH.
func checkCommandName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("invalid command name %q", name)
	case strings.ContainsAny(name, "/\\\x00 \t\r\n"):
		return fmt.Errorf("invalid command name %q: must be a program name, not a path", name)
	}
	return nil
}

func (c Config) withDefaults() (Config, error) {
	if c.Upstream == "" {
		return c, errors.New("dockerguard: Upstream socket path is required")
	}
	if c.AllowCommands == nil {
		c.AllowCommands = DefaultAllowCommands()
	}
	if len(c.AllowCommands) == 0 {
		return c, errors.New("dockerguard: AllowCommands is empty")
	}
	if _, err := parseCommandTable(c.AllowCommands); err != nil {
		return c, fmt.Errorf("dockerguard: AllowCommands: %w", err)
	}
	for _, name := range c.RunTools {
		if err := checkCommandName(name); err != nil {
			return c, fmt.Errorf("dockerguard: RunTools: %w", err)
		}
		if strings.Contains(name, ":") {
			return c, fmt.Errorf("dockerguard: RunTools: invalid program name %q", name)
		}
	}
	if c.Project == "" {
		c.Project = defaultProject
	}
	if c.Service == "" {
		c.Service = defaultService
	}
	if strings.ContainsAny(c.Project+c.Service, "=\x00") {
		return c, errors.New("dockerguard: Project and Service may not contain '=' or NUL")
	}
	if c.ProtectedEnvPrefixes == nil {
		c.ProtectedEnvPrefixes = DefaultProtectedEnv()
	}
	for _, p := range c.ProtectedEnvPrefixes {
		if p == "" {
			return c, fmt.Errorf("dockerguard: ProtectedEnvPrefixes: invalid entry %q", p)
		}
	}
	// The caller mark is protected whatever the list says: an agent that
	// could set or unset it would pass for the owner.
	if !slices.ContainsFunc(c.ProtectedEnvPrefixes, func(p string) bool { return strings.EqualFold(p, "DEVICEGATE_") }) {
		c.ProtectedEnvPrefixes = append(slices.Clip(c.ProtectedEnvPrefixes), "DEVICEGATE_")
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
