// Package local loads the configuration and opens what each profile keeps
// on this machine (its token cache, its policy, its audit log) after every
// check the full sidecar makes, and links nothing that talks to a network.
//
// internal/app builds provider sessions on top of it.
package local

import (
	"os"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/preset"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Setup is a loaded configuration and the token cache it names.
type Setup struct {
	Config *config.Config
	Store  *tokencache.Store
}

// Load reads and validates the configuration from the environment,
// including what each profile's preset demands, and opens the cache.
func Load() (*Setup, error) {
	c, err := config.Load(preset.Kinds())
	if err != nil {
		return nil, err
	}
	for _, name := range c.Order {
		if err := preset.Check(c.Profiles[name]); err != nil {
			return nil, err
		}
	}
	return New(c)
}

// New opens the token cache of an already validated configuration.
func New(c *config.Config) (*Setup, error) {
	raw, err := c.Sidecar.CacheKeyValue()
	if err != nil {
		return nil, err
	}
	var key []byte
	if raw != "" {
		if key, err = tokencache.ParseKey(raw); err != nil {
			name := "SIDECAR_CACHE_KEY"
			if c.Sidecar.CacheKeyFile != "" {
				name += "_FILE"
			}
			return nil, &config.Error{Var: name, Msg: err.Error()}
		}
	}
	st, err := tokencache.Open(c.DataDir, key)
	if err != nil {
		return nil, err
	}
	return &Setup{Config: c, Store: st}, nil
}

// Profile is what one profile keeps on this machine, and who is asking.
type Profile struct {
	*config.Profile
	Policy *policy.Policy
	Audit  *audit.Log
	// Caller is audit.CallerAgent for a command the Docker guard let
	// through, else audit.CallerOwner.
	Caller string
}

// Open returns the named profile ("" for the default one).
func (s *Setup) Open(name string) (*Profile, error) {
	p, err := s.Config.Profile(name)
	if err != nil {
		return nil, err
	}
	// The client secret is the provider's to use, but an unreadable
	// secret file stops the full sidecar, so it stops every program here.
	if _, err := p.Secret(); err != nil {
		return nil, err
	}
	pol, err := policy.Parse(p.Policy)
	if err != nil {
		return nil, &config.Error{Var: p.Var("POLICY"), Msg: err.Error()}
	}
	return &Profile{
		Profile: p,
		Policy:  pol,
		Audit:   audit.Open(s.Config.DataDir),
		Caller:  audit.Caller(os.Getenv),
	}, nil
}
