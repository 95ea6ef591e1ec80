package dockerguard

import (
	"sync"
	"time"
)

// execSet remembers the exec IDs the guard created. It is bounded: when
// full, expired entries go first, then the least recently used one. Every
// use refreshes an entry, so a long session can still be inspected at its
// end.
type execSet struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // ID → last use
}

func newExecSet(max int, ttl time.Duration, now func() time.Time) *execSet {
	return &execSet{max: max, ttl: ttl, now: now, seen: make(map[string]time.Time)}
}

func (s *execSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.seen[id]; !ok && len(s.seen) >= s.max {
		s.evictLocked(now)
	}
	s.seen[id] = now
}

// use reports whether id was created by the guard and has not expired,
// and refreshes it.
func (s *execSet) use(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.seen[id]
	now := s.now()
	if !ok || now.Sub(t) >= s.ttl {
		delete(s.seen, id)
		return false
	}
	s.seen[id] = now
	return true
}

func (s *execSet) evictLocked(now time.Time) {
	var oldest string
	var oldestT time.Time
	for id, t := range s.seen {
		if now.Sub(t) >= s.ttl {
			delete(s.seen, id)
			continue
		}
		if oldest == "" || t.Before(oldestT) {
			oldest, oldestT = id, t
		}
	}
	if len(s.seen) >= s.max {
		delete(s.seen, oldest)
	}
}

func (s *execSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}
