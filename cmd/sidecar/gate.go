package main

import (
	"fmt"
	"io"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/session"
)

// gateFor returns the one gate (internal/gate) for a profile's session
// (app.Gate). api is the profile's API base URL, for API actions: a
// request outside it is never allowed by default.
func gateFor(s *session.Session, api string) *gate.Gate { return app.Gate(s, api) }

// record appends what a command did to the audit log, and warns when the
// log cannot be written: the owner should know the log has a hole.
func record(p *gate.Pass, stderr io.Writer) {
	if err := p.Record(); err != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", prog.Name, err)
	}
}
