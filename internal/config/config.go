// Package config reads devicegate's configuration from the environment.
//
// Everything is read into typed structs (with envconfig's struct tags, see
// process) and validated once at start: an invalid value fails loudly and the error names the variable,
// so a person editing .env knows exactly what to fix. Secrets can be given
// directly or, for Docker secrets, through a `_FILE` variant.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/policy"
)

// DefaultProfile is the name of the profile read from the unprefixed
// OAUTH_* variables.
const DefaultProfile = "default"

// Kind is what Load checks of one provider kind, an OAUTH_PROVIDER value.
// The kinds and everything else about them live in internal/preset, one
// file each; Load takes them as a parameter (preset.Kinds), because
// preset reads Profile and so cannot be imported here.
type Kind struct {
	Name string
	// OwnClient: devicegate registers its own client at the provider, so
	// a profile has no client id.
	OwnClient bool
	// RunExports: `sidecar run` hands the provider's tools credentials
	// they sign with themselves, never a placeholder, so every run is a
	// token export the policy must allow (policy.CheckExport).
	RunExports bool
}

// Profile is one account: the OAUTH_* (or OAUTH_<NAME>_*) variables.
//
// Field names are chosen so that envconfig's split_words produces the
// variable names (ClientID -> CLIENT_ID); explicit `envconfig` tags are
// avoided on purpose, because envconfig falls back to the bare tag
// (CLIENT_ID) when the prefixed variable is unset, which would let one
// profile silently read another program's variables.
type Profile struct {
	Name string `ignored:"true"`
	// Prefix is the variable prefix of this profile, e.g. OAUTH_GH.
	Prefix string `ignored:"true"`

	Provider         string `split_words:"true"`
	ClientID         string `split_words:"true"`
	ClientSecret     string `split_words:"true"`
	ClientSecretFile string `split_words:"true"`
	Scopes           string `split_words:"true"`
	Tenant           string `split_words:"true"`
	Issuer           string `split_words:"true"`
	Audience         string `split_words:"true"`
	DeviceAuthURL    string `split_words:"true"`
	TokenURL         string `split_words:"true"`
	UserinfoURL      string `split_words:"true"`
	RevokeURL        string `split_words:"true"`
	ApiURL           string `split_words:"true"` //nolint:revive // ApiURL splits to API_URL
	// Flow is how a sign-in happens: FlowDevice (the default, RFC 8628) or
	// FlowCode (authorization code with PKCE, RFC 7636 and RFC 8252), for
	// accounts the device flow cannot reach.
	Flow string `split_words:"true"`
	// RedirectURL is the code flow's redirect URI: by default the loopback
	// http://127.0.0.1:PORT/callback (RFC 8252 §7.3), PORT picked at each
	// sign-in unless given.
	RedirectURL string `split_words:"true"`
	// AuthURL overrides the provider's authorization endpoint (code flow).
	AuthURL string `split_words:"true"`
	// Policy is what an agent may do with this sign-in without asking
	// (internal/policy): rules separated by ";" or newlines.
	Policy string `split_words:"true"`
	// OneOff makes every sign-in a one-off grant: the refresh token is
	// dropped, so access ends when the access token expires.
	OneOff Bool `split_words:"true"`

	// AWS IAM Identity Center (OAUTH_PROVIDER=aws): the organisation's
	// start URL, the Identity Center region, and the account and role
	// whose credentials programs get. OidcURL and PortalURL override the
	// regional endpoints (tests, FIPS or partition endpoints).
	StartURL  string `split_words:"true"`
	Region    string `split_words:"true"`
	AccountID string `split_words:"true"`
	RoleName  string `split_words:"true"`
	OidcURL   string `split_words:"true"`
	PortalURL string `split_words:"true"`
}

// Sign-in flows (OAUTH_FLOW).
const (
	FlowDevice = "device"
	FlowCode   = "code"
)

// Var returns the full variable name of a profile setting, e.g.
// Var("CLIENT_ID") is "OAUTH_GH_CLIENT_ID" for the gh profile.
func (p *Profile) Var(name string) string { return p.Prefix + "_" + name }

// ScopeList returns the configured scopes (space separated), or nil.
func (p *Profile) ScopeList() []string { return strings.Fields(p.Scopes) }

// Sidecar holds the SIDECAR_* variables. Defaults are set in Load, not
// with envconfig tags: see Int.
type Sidecar struct {
	Profiles      []string `split_words:"true"`
	CacheKey      string   `split_words:"true"`
	CacheKeyFile  string   `split_words:"true"`
	LoginRestarts Int      `split_words:"true"`
	Keepalive     Duration `split_words:"true"`
	HTTPTimeout   Duration `split_words:"true"`
	// ApprovalTimeout is how long serve waits for the owner's answer to an
	// approval before it is a denial.
	ApprovalTimeout Duration `split_words:"true"`
	Hostname        string   `split_words:"true"`
	// CallbackListen is where serve takes the code flow's redirects
	// itself (HOST:PORT), for an OAUTH_REDIRECT_URL=https://… of the
	// owner's own that forwards there; empty: pasting only.
	CallbackListen string `split_words:"true"`
}

// Telegram holds the TELEGRAM_* variables used by tgauth and sidecar serve.
type Telegram struct {
	BotToken     string `split_words:"true"`
	BotTokenFile string `split_words:"true"`
	ChatID       Int    `split_words:"true"`
	ApiURL       string `split_words:"true"` //nolint:revive
	// Listen: serve reads the bot's updates (the owner's commands and
	// taps on approval buttons). The default, because the bot is
	// devicegate's own gatekeeper bot; false for the single-bot setup,
	// where OpenClaw reads the updates of the one bot.
	Listen Bool `split_words:"true"`
	// ListenSet: TELEGRAM_LISTEN was set (not empty), so the person asked
	// for a listening bot rather than taking the default.
	ListenSet bool `ignored:"true"`
	// OwnerID is the owner's Telegram user id: only their commands and
	// taps count. Default: TELEGRAM_CHAT_ID when that is a private chat
	// (positive: the chat id is the user id).
	OwnerID Int `split_words:"true"`
}

// Owner returns the user id whose taps and commands count, 0 when neither
// TELEGRAM_OWNER_ID nor a private TELEGRAM_CHAT_ID names one.
func (t *Telegram) Owner() int64 {
	if t.OwnerID > 0 {
		return int64(t.OwnerID)
	}
	if t.ChatID > 0 {
		return int64(t.ChatID)
	}
	return 0
}

// Int, Duration and Bool treat an empty variable as unset, keeping the
// default: Docker Compose passes a `NAME=` line of .env as an empty
// string, which a plain int would reject.
type (
	Int      int64
	Duration time.Duration
	Bool     bool
)

// Decode implements decoder.
func (i *Int) Decode(s string) error {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("want a whole number")
	}
	*i = Int(v)
	return nil
}

// Decode implements decoder.
func (d *Duration) Decode(s string) error {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 90s, 15m or 24h")
	}
	*d = Duration(v)
	return nil
}

// Decode implements decoder.
func (b *Bool) Decode(s string) error {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*b = Bool(v)
	return nil
}

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the whole validated configuration.
type Config struct {
	Sidecar  Sidecar
	Telegram Telegram
	// Profiles by name; the default profile is present only when configured.
	Profiles map[string]*Profile
	// Order is the profile names in the order they were declared, the
	// default profile first when present.
	Order []string
	// DataDir is where the token cache lives:
	// $XDG_DATA_HOME/devicegate, or ~/.local/share/devicegate.
	DataDir string
}

// Error is a configuration error. Var names the variable at fault, so that
// callers (and tests) can tell which one without parsing text.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string {
	if e.Var == "" {
		return e.Msg
	}
	return e.Var + ": " + e.Msg
}

func errf(v, format string, a ...any) error { return &Error{Var: v, Msg: fmt.Sprintf(format, a...)} }

// validProfileName accepts ^[a-z][a-z0-9_]{0,31}$. The checks in this
// file are written out rather than as regular expressions: compiling those
// at init cost every command, `sidecar token` included, about a
// millisecond before main.
func validProfileName(s string) bool {
	if len(s) == 0 || len(s) > 32 || !lower(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !lower(s[i]) && !digit(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// validScope accepts an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != 0x21 && (c < 0x23 || c > 0x5B) && (c < 0x5D || c > 0x7E) {
			return false
		}
	}
	return true
}

// validLabel accepts a compose project or service name:
// ^[a-z0-9][a-z0-9_.-]*$.
func validLabel(s string) bool {
	if s == "" || !(lower(s[0]) || digit(s[0])) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !lower(c) && !digit(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validHostPort accepts HOST:PORT (HOST may be empty or a bracketed IPv6
// literal) with a port from 1 to 65535.
func validHostPort(s string) bool {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.ContainsAny(s, " /?#@") {
		return false
	}
	host, port := s[:i], s[i+1:]
	if strings.Contains(host, ":") && !(strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")) {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

func lower(c byte) bool { return 'a' <= c && c <= 'z' }
func digit(c byte) bool { return '0' <= c && c <= '9' }

// Load reads and validates the configuration from the process environment,
// with kinds the provider kinds OAUTH_PROVIDER accepts (preset.Kinds). It
// returns the first error, the one LoadAll finds first.
func Load(kinds []Kind) (*Config, error) {
	c, errs := LoadAll(kinds)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return c, nil
}

// LoadAll reads and validates the configuration like Load, but goes on
// after an error to find them all (`sidecar doctor`): every invalid or
// missing variable is one *Error, in the order Load checks them. The
// Config it returns holds what could be read, with only the valid profiles.
func LoadAll(kinds []Kind) (*Config, []error) {
	c := &Config{
		Profiles: map[string]*Profile{},
		Sidecar:  Sidecar{LoginRestarts: 3, Keepalive: Duration(24 * time.Hour), HTTPTimeout: Duration(30 * time.Second), ApprovalTimeout: Duration(2 * time.Minute)},
		Telegram: Telegram{ApiURL: "https://api.telegram.org", Listen: true},
	}
	var errs []error
	errs = append(errs, processAll("SIDECAR", &c.Sidecar)...)
	errs = append(errs, processAll("TELEGRAM", &c.Telegram)...)
	c.Telegram.ListenSet = strings.TrimSpace(os.Getenv("TELEGRAM_LISTEN")) != ""
	errs = append(errs, c.validateSidecar()...)
	if dir, err := dataDir(); err != nil {
		errs = append(errs, err)
	} else {
		c.DataDir = dir
	}

	def := &Profile{Name: DefaultProfile, Prefix: "OAUTH"}
	perrs := processAll(def.Prefix, def)
	if len(perrs) > 0 || def.Provider != "" || def.ClientID != "" {
		perrs = append(perrs, def.validate(kinds)...)
		errs = append(errs, perrs...)
		if len(perrs) == 0 {
			c.Profiles[def.Name] = def
			c.Order = append(c.Order, def.Name)
		}
	}
	seen := map[string]bool{}
	for _, raw := range c.Sidecar.Profiles {
		name := strings.TrimSpace(raw)
		if name == "" {
			continue
		}
		if !validProfileName(name) || name == DefaultProfile {
			errs = append(errs, errf("SIDECAR_PROFILES", "invalid profile name %q: use lowercase letters, digits and _, starting with a letter (not %q)", name, DefaultProfile))
			continue
		}
		if seen[name] {
			errs = append(errs, errf("SIDECAR_PROFILES", "profile %q is listed twice", name))
			continue
		}
		seen[name] = true
		p := &Profile{Name: name, Prefix: "OAUTH_" + strings.ToUpper(name)}
		perrs := processAll(p.Prefix, p)
		perrs = append(perrs, p.validate(kinds)...)
		errs = append(errs, perrs...)
		if len(perrs) == 0 {
			c.Profiles[name] = p
			c.Order = append(c.Order, name)
		}
	}
	return c, errs
}

// Profile returns the named profile; "" selects the default profile, or the
// first declared one when OAUTH_* is not configured.
func (c *Config) Profile(name string) (*Profile, error) {
	if name == "" {
		if len(c.Order) == 0 {
			return nil, errf("OAUTH_PROVIDER", "no account is configured: set OAUTH_PROVIDER and OAUTH_CLIENT_ID")
		}
		name = c.Order[0]
	}
	p, ok := c.Profiles[name]
	if !ok {
		known := strings.Join(c.Order, ", ")
		if known == "" {
			known = "none"
		}
		return nil, &Error{Msg: fmt.Sprintf("unknown profile %q (configured: %s); add it to SIDECAR_PROFILES and set OAUTH_%s_*", name, known, strings.ToUpper(name))}
	}
	return p, nil
}

// Token returns the Telegram bot token from TELEGRAM_BOT_TOKEN or
// TELEGRAM_BOT_TOKEN_FILE.
func (t *Telegram) Token() (string, error) {
	return secret("TELEGRAM_BOT_TOKEN", t.BotToken, t.BotTokenFile)
}

// CacheKeyValue returns the cache key text from SIDECAR_CACHE_KEY or
// SIDECAR_CACHE_KEY_FILE, "" when neither is set.
func (s *Sidecar) CacheKeyValue() (string, error) {
	return secret("SIDECAR_CACHE_KEY", s.CacheKey, s.CacheKeyFile)
}

// Secret returns the client secret from OAUTH_CLIENT_SECRET or its _FILE.
func (p *Profile) Secret() (string, error) {
	return secret(p.Var("CLIENT_SECRET"), p.ClientSecret, p.ClientSecretFile)
}

func (c *Config) validateSidecar() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	s := &c.Sidecar
	if s.LoginRestarts < 0 || s.LoginRestarts > 100 {
		add(errf("SIDECAR_LOGIN_RESTARTS", "must be between 0 and 100, not %d", s.LoginRestarts))
	}
	if s.Keepalive.D() < time.Minute {
		add(errf("SIDECAR_KEEPALIVE", "must be at least 1m, not %s", s.Keepalive.D()))
	}
	if s.HTTPTimeout.D() < time.Second {
		add(errf("SIDECAR_HTTP_TIMEOUT", "must be at least 1s, not %s", s.HTTPTimeout.D()))
	}
	if d := s.ApprovalTimeout.D(); d < time.Second || d > time.Hour {
		add(errf("SIDECAR_APPROVAL_TIMEOUT", "must be between 1s and 1h, not %s", d))
	}
	if s.CallbackListen != "" && !validHostPort(s.CallbackListen) {
		add(errf("SIDECAR_CALLBACK_LISTEN", "want HOST:PORT to listen on, e.g. 127.0.0.1:8400, not %q", s.CallbackListen))
	}
	if c.Telegram.OwnerID < 0 {
		add(errf("TELEGRAM_OWNER_ID", "is a user id: a positive number, not %d", c.Telegram.OwnerID))
	}
	if c.Telegram.ApiURL == "" {
		c.Telegram.ApiURL = "https://api.telegram.org"
	}
	_, err := s.CacheKeyValue()
	add(err)
	add(checkURL("TELEGRAM_API_URL", c.Telegram.ApiURL))
	_, err = c.Telegram.Token()
	add(err)
	return errs
}

func (p *Profile) validate(kinds []Kind) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	var kind Kind // an unknown kind's rules: a client id, no export
	p.Provider = strings.ToLower(strings.TrimSpace(p.Provider))
	if i := slices.Index(names, p.Provider); i >= 0 && p.Provider != "" {
		kind = kinds[i]
	} else if p.Provider == "" {
		add(errf(p.Var("PROVIDER"), "is required: one of %s", strings.Join(names, ", ")))
	} else {
		add(errf(p.Var("PROVIDER"), "unknown provider %q: use one of %s", p.Provider, strings.Join(names, ", ")))
	}
	if !kind.OwnClient && strings.TrimSpace(p.ClientID) == "" {
		add(errf(p.Var("CLIENT_ID"), "is required: the application (client) id registered at the provider"))
	}
	_, err := p.Secret()
	add(err)
	for _, u := range []struct{ name, val string }{
		{"ISSUER", p.Issuer}, {"DEVICE_AUTH_URL", p.DeviceAuthURL}, {"TOKEN_URL", p.TokenURL},
		{"USERINFO_URL", p.UserinfoURL}, {"REVOKE_URL", p.RevokeURL}, {"API_URL", p.ApiURL}, {"AUTH_URL", p.AuthURL},
		{"START_URL", p.StartURL}, {"OIDC_URL", p.OidcURL}, {"PORTAL_URL", p.PortalURL},
	} {
		if u.val != "" {
			add(checkURL(p.Var(u.name), u.val))
		}
	}
	p.Flow = strings.ToLower(strings.TrimSpace(p.Flow))
	switch p.Flow {
	case "":
		p.Flow = FlowDevice
	case FlowDevice, FlowCode:
	default:
		add(errf(p.Var("FLOW"), "unknown sign-in flow %q: use device (the default) or code", p.Flow))
	}
	if p.RedirectURL != "" {
		add(CheckRedirect(p.Var("REDIRECT_URL"), p.RedirectURL))
	}
	p.Issuer = strings.TrimRight(p.Issuer, "/")
	p.OidcURL = strings.TrimRight(p.OidcURL, "/")
	p.PortalURL = strings.TrimRight(p.PortalURL, "/")
	for _, s := range p.ScopeList() {
		if !validScope(s) {
			add(errf(p.Var("SCOPES"), "invalid scope %q (scopes are separated by spaces)", s))
			break
		}
	}
	pol, err := policy.Parse(p.Policy)
	if err == nil && kind.RunExports {
		err = pol.CheckExport(true)
	}
	if err != nil {
		add(errf(p.Var("POLICY"), "%v", err))
	}
	return errs
}

// CheckRedirect checks a code-flow redirect URI (OAUTH_REDIRECT_URL): a
// loopback http:// address (RFC 8252 §7.3; the port may be left out and is
// then picked at each sign-in), or an https:// address of the owner's own
// (a reverse proxy or tunnel). No fragment (RFC 6749 §3.1.2), no user.
func CheckRedirect(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errf(name, "invalid redirect address %q: want http://127.0.0.1:PORT/callback (or an https:// address of your own)", raw)
	}
	if u.User != nil {
		return errf(name, "redirect address must not contain a user or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errf(name, "redirect address must not contain a fragment (#...)")
	}
	if u.RawQuery != "" {
		return errf(name, "redirect address must not contain a query (?...): the provider adds code and state there")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return errf(name, "refusing plain http:// to %s: only a loopback address (127.0.0.1, [::1], localhost) may use http://", u.Hostname())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errf(name, "invalid port %q in the redirect address", p)
		}
	}
	return nil
}

// CheckURL is the check every URL that carries tokens gets, for URLs that
// do not come straight from a variable (an Auth0 audience used as the API
// base, endpoints found by OIDC discovery): a *Error naming name.
func CheckURL(name, raw string) error { return checkURL(name, raw) }

// checkURL accepts absolute http(s) URLs; plain http only for loopback
// hosts, because tokens and client secrets travel over these URLs.
func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errf(name, "invalid URL %q: want an absolute https:// URL", raw)
	}
	if u.User != nil {
		return errf(name, "URL must not contain a user or password")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return errf(name, "refusing plain http:// to %s: tokens would travel unencrypted; use https://", u.Hostname())
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	// net.ParseIP's reading (it parses with netip and refuses a zone),
	// without linking package net into every program that reads the
	// configuration.
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// secret returns a secret given directly in name or in the file named by
// name_FILE (Docker secrets). An empty or missing-but-empty file counts as
// unset, so compose files can mount an optional empty secret.
func secret(name, direct, file string) (string, error) {
	if direct != "" && file != "" {
		return "", errf(name, "set either %s or %s_FILE, not both", name, name)
	}
	if file == "" {
		return strings.TrimSpace(direct), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", errf(name+"_FILE", "cannot read %s: %v", file, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func dataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		if !filepath.IsAbs(d) {
			return "", errf("XDG_DATA_HOME", "must be an absolute path, not %q", d)
		}
		return filepath.Join(d, "devicegate"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errf("XDG_DATA_HOME", "is not set and there is no home directory: set it to where the token cache should live")
	}
	return filepath.Join(home, ".local", "share", "devicegate"), nil
}

// Guard holds the GUARD_* variables of `sidecar guard`.
type Guard struct {
	Listen        string `split_words:"true"`
	Upstream      string `split_words:"true"`
	AllowCommands string `split_words:"true"`
	RunTools      string `split_words:"true"`
	Project       string `split_words:"true"`
	Service       string `split_words:"true"`
	MaxBody       Int    `split_words:"true"`
}

// LoadGuard reads and validates the guard's configuration.
func LoadGuard() (*Guard, error) {
	g := &Guard{
		Listen:   "/run/guard/docker.sock",
		Upstream: "/var/run/docker.sock",
		Project:  "myapp",
		Service:  "sidecar",
		MaxBody:  64 << 10,
	}
	if err := process("GUARD", g); err != nil {
		return nil, err
	}
	for _, v := range []struct{ name, val string }{{"GUARD_LISTEN", g.Listen}, {"GUARD_UPSTREAM", g.Upstream}} {
		if !filepath.IsAbs(v.val) {
			return nil, errf(v.name, "must be an absolute path to a unix socket, not %q", v.val)
		}
	}
	if !validLabel(g.Project) {
		return nil, errf("GUARD_PROJECT", "invalid compose project name %q", g.Project)
	}
	if !validLabel(g.Service) {
		return nil, errf("GUARD_SERVICE", "invalid compose service name %q", g.Service)
	}
	if g.MaxBody < 1024 || g.MaxBody > 16<<20 {
		return nil, errf("GUARD_MAX_BODY", "must be between 1024 and 16777216 bytes, not %d", g.MaxBody)
	}
	return g, nil
}
