package app

import (
	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/session"
)

// Gate returns the one gate (internal/gate) for a profile's session: its
// policy and caller, its audit log and the agent's rate limit kept with
// it, and serve's approval socket to ask the owner on. api is the profile's API base URL, for API actions: a request
// outside it is never allowed by default ("" for a command that makes
// none, such as tgauth).
func Gate(s *session.Session, api string) *gate.Gate {
	g := &gate.Gate{
		Profile: s.Profile,
		API:     api,
		Caller:  s.Caller,
		Policy:  s.Policy,
		Log:     s,
		Asker:   approval.Client{Socket: approval.SocketPath(s.Store.Dir())},
		Account: func() string {
			e, err := s.Load()
			if err != nil {
				return ""
			}
			if e.Account.Email != "" {
				return e.Account.Email
			}
			return e.Account.Name
		},
	}
	if s.Audit != nil { // a nil *audit.Log in the interface would not be nil
		g.Limit = s.Audit
	}
	return g
}
