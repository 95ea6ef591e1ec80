package main

import (
	"fmt"
	"io"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/session"
)

// gateFor returns the one gate (internal/gate) for a profile's session:
// its policy and caller, its audit log and the agent's rate limit kept
// with it, and serve's approval socket to ask the owner on. api is the profile's API base URL, for API actions: a
// request outside it is never allowed by default.
func gateFor(s *session.Session, api string) *gate.Gate {
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

// record appends what a command did to the audit log, and warns when the
// log cannot be written: the owner should know the log has a hole.
func record(p *gate.Pass, stderr io.Writer) {
	if err := p.Record(); err != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", prog.Name, err)
	}
}
