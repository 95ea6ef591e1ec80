// Package demoidp is a small OpenID provider for devicegate's demo and
// tests: ZITADEL's OpenID-certified provider library (github.com/zitadel/oidc
// v3, package op) with an in-memory store, one public device client, one
// account, and its own sign-in and consent pages.
//
// It implements the OAuth 2.0 Device Authorization Grant (RFC 8628) with
// verification_uri_complete, refresh tokens that rotate on every use with
// reuse detection (RFC 9700 §4.14.2), revocation (RFC 7009), userinfo, and
// the same userinfo at /me for `sidecar api /me`. It keeps everything in
// memory: a restart signs everyone out.
//
// It is independent of the other test provider (the oidc-provider Node
// package in internal/oidctest): another implementation, another language,
// other error bodies and defaults. Not for production: one account whose
// password is printed on the sign-in page when Options.ShowPassword is set.
//
// Its size is a provider's worth of parts on top of the library: the
// device, sign-in and consent pages, the storage behind them and the
// client registry, each in its own file.
package demoidp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// SupportedScopes are the scopes the provider grants; others in a request
// are dropped (the grant is narrowed, not refused). A refresh token is
// issued only when offline_access is granted.
var SupportedScopes = []string{"openid", "profile", "email", "offline_access", "api:read", "api:write"}

func isSupported(scope string) bool { return slices.Contains(SupportedScopes, scope) }

// User is the one account.
type User struct {
	Login, Password, Name, Email string
}

// Options configure a provider. Zero values take the defaults.
type Options struct {
	Issuer   string // required: the URL at which browsers and clients reach it
	ClientID string // default "devicegate-demo"
	User     User   // default demo / demo, "Demo User", demo@example.com

	AccessTokenTTL  time.Duration // default 1 h
	RefreshTokenTTL time.Duration // each refresh token, counted again after every rotation; default 14 days
	DeviceCodeTTL   time.Duration // the device authorization's expires_in; default 10 min
	PollInterval    time.Duration // the device authorization's interval; default 5 s

	// ShowPassword prints the account's login and password on the sign-in
	// page: right for the demo, whose account is public anyway.
	ShowPassword bool
}

// Defaults of [Options].
const (
	DefaultClientID = "devicegate-demo"
	DefaultLogin    = "demo"
	DefaultPassword = "demo"
)

func (o *Options) setDefaults() error {
	if o.Issuer == "" {
		return errors.New("demoidp: no issuer")
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.HasSuffix(u.Path, "/") && u.Path != "/" {
		return fmt.Errorf("demoidp: invalid issuer %q: want http(s)://HOST[:PORT]", o.Issuer)
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.User == (User{}) {
		o.User = User{Login: DefaultLogin, Password: DefaultPassword, Name: "Demo User", Email: "demo@example.com"}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.AccessTokenTTL, time.Hour)
	def(&o.RefreshTokenTTL, 14*24*time.Hour)
	def(&o.DeviceCodeTTL, 10*time.Minute)
	def(&o.PollInterval, 5*time.Second)
	return nil
}

// Stats count requests, so tests can tell how many refreshes happened.
type Stats struct {
	TokenRequestsByGrant map[string]int // POSTs to the token endpoint by grant_type
	Revocations          int
}

// Provider is an http.Handler serving the provider at Options.Issuer.
type Provider struct {
	http.Handler
	opts    Options
	storage *storage

	mu    sync.Mutex
	stats Stats
}

// Paths of the provider's own pages and extras; the protocol endpoints are
// the op package's defaults and are listed in the discovery document.
const (
	PathDevice  = "/device"         // verification_uri: enter the code, sign in
	PathConsent = "/device/consent" // allow or deny, untick scopes
	PathMe      = "/me"             // userinfo again, as an "API" for sidecar api
)

// New builds a provider.
func New(o Options) (*Provider, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	st, err := newStorage(o)
	if err != nil {
		return nil, err
	}
	var key [32]byte
	rand.Read(key[:]) // access tokens are sealed with a key that lives as long as the process
	config := &op.Config{
		CryptoKey:             key,
		GrantTypeRefreshToken: true,
		SupportedUILocales:    []language.Tag{language.English},
		SupportedScopes:       SupportedScopes,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     o.DeviceCodeTTL,
			PollInterval: o.PollInterval,
			UserFormPath: PathDevice,
			UserCode:     op.UserCodeBase20,
		},
	}
	var opts []op.Option
	if strings.HasPrefix(o.Issuer, "http://") {
		// The library refuses a plain-http issuer unless told; the demo
		// runs on localhost, where devicegate allows http too.
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(config, st, op.StaticIssuer(o.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("demoidp: %w", err)
	}
	p := &Provider{opts: o, storage: st, stats: Stats{TokenRequestsByGrant: map[string]int{}}}

	mux := http.NewServeMux()
	pg := &pages{p: p, op: provider, sessions: map[string]consentSession{}}
	mux.HandleFunc("GET "+PathDevice, pg.device)
	mux.HandleFunc("POST "+PathDevice, pg.signIn)
	mux.HandleFunc("POST "+PathConsent, pg.consent)
	// The code flow's pages need the issuer in their context, for the
	// library's callback URL.
	issuer := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux.Handle("GET "+PathLogin, issuer.HandlerFunc(pg.login))
	mux.Handle("POST "+PathLogin, issuer.HandlerFunc(pg.loginPost))
	mux.Handle("POST "+PathLoginConsent, issuer.HandlerFunc(pg.loginConsent))
	mux.Handle(PathMe, op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op.Userinfo(w, r, provider)
	}))
	mux.Handle("/", provider)
	p.Handler = p.count(mux)
	return p, nil
}

// count records token and revocation requests for [Provider.Stats].
func (p *Provider) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			switch r.URL.Path {
			case "/oauth/token":
				r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
				if err := r.ParseForm(); err == nil {
					p.mu.Lock()
					p.stats.TokenRequestsByGrant[r.PostForm.Get("grant_type")]++
					p.mu.Unlock()
				}
			case "/revoke":
				p.mu.Lock()
				p.stats.Revocations++
				p.mu.Unlock()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Stats returns a copy of the counters.
func (p *Provider) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{TokenRequestsByGrant: map[string]int{}, Revocations: p.stats.Revocations}
	for k, v := range p.stats.TokenRequestsByGrant {
		s.TokenRequestsByGrant[k] = v
	}
	return s
}

// Options returns the options in effect, defaults filled in.
func (p *Provider) Options() Options { return p.opts }

// GrantTypeDeviceCode is RFC 8628 §3.4's grant type, as counted in Stats.
const GrantTypeDeviceCode = string(oidc.GrantTypeDeviceCode)
