package approval

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/gate"
)

// Grant is one "Allow for 1 hour": what it covers and until when.
//
// Its scope is the profile, the action's kind, and serve's own matching
// rule; for an API call also the host and the method; for a token the
// variant and the scopes; for a run the program and whether it gets the
// raw token. So an hour on GET /user never covers DELETE, another host, or
// `sidecar token --aws-credentials`, whatever rule they share.
type Grant struct {
	ID        string    `json:"id"` // short, for the button that ends it
	Profile   string    `json:"profile"`
	Action    string    `json:"action"`
	Rule      string    `json:"rule"`
	Method    string    `json:"method,omitempty"`
	Host      string    `json:"host,omitempty"`
	Variant   string    `json:"variant,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
	Program   string    `json:"program,omitempty"`
	WithToken bool      `json:"with_token,omitempty"`
	Until     time.Time `json:"until"`
}

// GrantFor is the grant that an "Allow for 1 hour" on req makes, until
// until. req.Rule must be serve's own rule.
func GrantFor(req Request, until time.Time) Grant {
	g := Grant{Profile: req.Profile, Action: req.Action, Rule: req.Rule, Until: until}
	switch gate.Kind(req.Action) {
	case gate.API:
		g.Method, g.Host = req.Method, strings.ToLower(req.Host)
	case gate.Token:
		g.Variant = req.Variant
		if g.Variant == "" {
			g.Variant = gate.VariantAccess
		}
		g.Scopes = slices.Sorted(slices.Values(req.Scopes))
	case gate.Run:
		g.Program, g.WithToken = req.Program(), req.WithToken
	}
	g.ID = g.key()[:grantIDLen]
	return g
}

// grantIDLen is the length of a grant's id in hex digits.
const grantIDLen = 16

// key is the grant's scope as one string: two requests with the same key
// are covered by the same grant.
func (g Grant) key() string {
	b, _ := json.Marshal([]any{g.Profile, g.Action, g.Rule, g.Method, g.Host, g.Variant, g.Scopes, g.Program, g.WithToken})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// GrantFile keeps the grants on the data volume, so that a restart of
// serve keeps them: in production tokencache's sealed files (encrypted
// like the cache when SIDECAR_CACHE_KEY is set, written atomically).
type GrantFile interface {
	// ReadSealed returns the file's contents, or an error wrapping
	// fs.ErrNotExist when there is none.
	ReadSealed(name string) ([]byte, error)
	WriteSealed(name string, b []byte) error
}

// GrantsName is the grants' file in the data directory.
const GrantsName = "approval.grants"

// grants holds the grants in force. Every change is written to the file
// before it counts: a grant ended by the owner stays ended after a restart.
type grants struct {
	mu   sync.Mutex
	file GrantFile // nil: memory only
	m    map[string]Grant
	// changed is closed and replaced when a grant is made.
	changed chan struct{}
}

func (g *grants) changedLocked() chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

// load reads the file; grants that have ended are dropped.
func (g *grants) load(now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.m = map[string]Grant{}
	if g.file == nil {
		return nil
	}
	b, err := g.file.ReadSealed(GrantsName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("approval: reading the grants: %w", err)
	}
	var list []Grant
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("approval: reading the grants: %w", err)
	}
	for _, gr := range list {
		if now.Before(gr.Until) && gr.ID == gr.key()[:grantIDLen] {
			g.m[gr.key()] = gr
		}
	}
	return nil
}

// saveLocked writes the grants in force.
func (g *grants) saveLocked(now time.Time) error {
	for k, gr := range g.m {
		if !now.Before(gr.Until) {
			delete(g.m, k)
		}
	}
	if g.file == nil {
		return nil
	}
	list := slices.SortedFunc(func(yield func(Grant) bool) {
		for _, gr := range g.m {
			if !yield(gr) {
				return
			}
		}
	}, func(a, b Grant) int { return strings.Compare(a.ID, b.ID) })
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return g.file.WriteSealed(GrantsName, b)
}

// covering returns the grant in force for req, if any.
func (g *grants) covering(req Request, now time.Time) (Grant, bool) {
	k := GrantFor(req, time.Time{}).key()
	g.mu.Lock()
	defer g.mu.Unlock()
	gr, ok := g.m[k]
	return gr, ok && now.Before(gr.Until)
}

// add records gr, on the file first.
func (g *grants) add(gr Grant, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]Grant{}
	}
	g.m[gr.key()] = gr
	if err := g.saveLocked(now); err != nil {
		delete(g.m, gr.key())
		return fmt.Errorf("approval: keeping the grant: %w", err)
	}
	close(g.changedLocked())
	g.changed = make(chan struct{})
	return nil
}

// list returns the grants in force, soonest to end first.
func (g *grants) list(now time.Time) []Grant {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Grant
	for _, gr := range g.m {
		if now.Before(gr.Until) {
			out = append(out, gr)
		}
	}
	slices.SortFunc(out, func(a, b Grant) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// end removes the grant with id; it reports the grant it ended.
func (g *grants) end(id string, now time.Time) (Grant, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, gr := range g.m {
		if gr.ID == id {
			delete(g.m, k)
			if err := g.saveLocked(now); err != nil {
				g.m[k] = gr
				return Grant{}, false, fmt.Errorf("approval: ending the grant: %w", err)
			}
			return gr, true, nil
		}
	}
	return Grant{}, false, nil
}
