package telegramtest

import (
	"net/http"
	"strconv"
	"time"
)

const conflictPolling = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
const conflictWebhook = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"

// poller is a getUpdates request waiting for updates.
type poller struct {
	kick     chan struct{} // closed when another poller takes over
	conflict bool
}

// terminatePollLocked ends the waiting long poll, if any, with 409. Callers
// hold s.mu.
func (s *Server) terminatePollLocked() {
	if s.poll != nil {
		s.poll.conflict = true
		close(s.poll.kick)
		s.poll = nil
		s.notify()
	}
}

// CompetingPoll simulates another instance of the bot calling getUpdates:
// the long poll waiting now, if any, ends with 409 Conflict. (A real second
// client calling getUpdates on the server has the same effect.)
func (s *Server) CompetingPoll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.terminatePollLocked()
}

// getUpdates implements long polling: offset confirms the updates before it,
// timeout (seconds) is how long to wait for one, and a newer getUpdates
// request ends a waiting one with 409. gone is true when the client left or
// the server closed, with nothing to answer.
func (s *Server) getUpdates(r *http.Request, p map[string]string) (result any, aerr *apiError, gone bool) {
	offset, _ := strconv.Atoi(p["offset"])
	limit, err := strconv.Atoi(p["limit"])
	if err != nil || limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p["timeout"])
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.terminatePollLocked()
	if s.webhook {
		return nil, &apiError{code: http.StatusConflict, desc: conflictWebhook}, false
	}
	if aerr := s.allowedLocked(p); aerr != nil {
		return nil, aerr, false
	}
	s.confirmLocked(offset)

	me := &poller{kick: make(chan struct{})}
	leave := func() {
		if s.poll == me {
			s.poll = nil
			s.notify()
		}
	}
	for {
		if me.conflict {
			return nil, &apiError{code: http.StatusConflict, desc: conflictPolling}, false
		}
		s.dropDisallowedLocked()
		if len(s.updates) > 0 || !time.Now().Before(deadline) {
			leave()
			n := min(limit, len(s.updates))
			return append([]update{}, s.updates[:n]...), nil, false
		}
		if s.poll != me {
			s.poll = me
			s.notify()
		}
		changed := s.changed
		s.mu.Unlock()
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-me.kick:
		case <-changed:
		case <-timer.C:
		case <-r.Context().Done():
			gone = true
		case <-s.closed:
			gone = true
		}
		timer.Stop()
		s.mu.Lock()
		if gone {
			leave()
			return nil, nil, true
		}
	}
}

// confirmLocked forgets the updates before offset; a negative offset keeps
// only the last -offset updates. Callers hold s.mu.
func (s *Server) confirmLocked(offset int) {
	switch {
	case offset > 0:
		i := 0
		for i < len(s.updates) && s.updates[i].ID < offset {
			i++
		}
		if i > 0 {
			s.updates = append([]update{}, s.updates[i:]...)
			s.notify()
		}
	case offset < 0:
		if keep := -offset; keep < len(s.updates) {
			s.updates = append([]update{}, s.updates[len(s.updates)-keep:]...)
			s.notify()
		}
	}
}
