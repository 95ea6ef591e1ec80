package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// The rate limit on agent actions ([Log.Admit]) is a token bucket shared by
// every process of the data directory: Burst actions at once, then Rate a
// minute.
//
// Why these numbers: the agent's actions are model turns and the requests
// of the tools it starts. A turn takes seconds, and even a script the
// agent runs through `sidecar run` (each request of the tool is one action)
// stays far below a thousand requests in a short task; DefaultBurst lets
// such a task through whole, and DefaultRate (one action every two
// seconds, sustained for ever) is more than an agent working without a
// pause needs. A flood is stopped after DefaultBurst: the attack of issue
// 17 (6,200 GETs in three minutes) gets about 1,300 through.
//
// They are also what bounds the log on disk, since nothing younger than
// [Retention] is deleted: in 30 days at most DefaultBurst + 30 × 60 × 24 ×
// 30 ≈ 1.3 million agent lines (typically 150 to 700 bytes each, so well
// under a gigabyte even when flooded without a pause), plus one line per
// burst of refusals and the owner's own lines, which are not limited.
const (
	DefaultRate  = 30   // agent actions a minute, once the burst is spent
	DefaultBurst = 1200 // agent actions at once
)

// ErrRateLimited is returned by [Log.Admit] when the agent is over its
// budget: the action must not be done. An agent must slow down, and tell
// the owner (exit 8 with a hint, in internal/cli's table).
var ErrRateLimited = errors.New("too many agent actions: refused by the rate limit")

// DecisionRateLimited is the decision of the one line a burst of refusals
// writes.
const DecisionRateLimited = "rate_limited"

// RateFileName is the bucket's state in the data directory, next to the
// log: small, and locked with flock(2) while it is read and written.
const RateFileName = "audit.rate"

// The state is one fixed-size record, so one pread and one pwrite do:
// magic, tokens left (float64), the time they were counted, and the time
// the current burst of refusals began (0: none).
const (
	rateMagic    = "dgr1"
	rateStateLen = 4 + 8 + 8 + 8
)

type bucket struct {
	tokens  float64
	at      int64 // unix nanoseconds
	limited int64 // unix nanoseconds; 0 when not in a burst of refusals
}

// Admit decides whether the agent may do e now, before anything is done.
// Owner actions (e.Caller other than [CallerAgent]) are always admitted,
// without any I/O. An agent action takes one token from the bucket; with
// none left it is refused with an error wrapping [ErrRateLimited].
//
// The first refusal of a burst writes one line, e with decision
// "rate_limited"; later refusals of the same burst write nothing (that is
// what keeps a flood from filling the log), and the caller must not write
// a line for them either. A burst ends when the bucket is full again,
// that is when the agent has stayed within the rate long enough to earn
// the whole burst back; a flood that goes on at the rate is one burst.
//
// A state that cannot be read or written refuses the action (the error
// is not ErrRateLimited): the limit fails closed.
func (l *Log) Admit(e Event) error {
	if e.Caller != CallerAgent {
		return nil
	}
	admitted, first, err := l.take()
	if err != nil || admitted {
		return err
	}
	if first {
		e.Time = time.Time{}
		e.Decision = DecisionRateLimited
		e.Status = 0
		e.Detail = fmt.Sprintf("more than %d agent actions at once, then %d a minute: refused; "+
			"the rest of this burst is refused without a line", l.burst(), l.rate())
		if err := l.Append(e); err != nil {
			return fmt.Errorf("%w (%v)", ErrRateLimited, err)
		}
	}
	return ErrRateLimited
}

func (l *Log) rate() int {
	if l.Rate > 0 {
		return l.Rate
	}
	return DefaultRate
}

func (l *Log) burst() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return DefaultBurst
}

// take takes one token from the shared bucket: admitted when there was
// one; otherwise first says whether this refusal begins a burst.
func (l *Log) take() (admitted, first bool, err error) {
	f, err := l.openRate()
	if err != nil {
		return false, false, fmt.Errorf("audit: rate limit: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return false, false, fmt.Errorf("audit: rate limit: %w", err)
	}
	b, err := readBucket(f)
	if err != nil {
		return false, false, fmt.Errorf("audit: rate limit: %w", err)
	}
	now := l.clock().UnixNano()
	burst := float64(l.burst())
	if b.at == 0 {
		b = bucket{tokens: burst, at: now} // a new (or unreadable) state starts full
	}
	// A clock that went back refills nothing; the bucket waits for it.
	if now > b.at {
		b.tokens = math.Min(burst, b.tokens+float64(now-b.at)/float64(time.Minute)*float64(l.rate()))
		b.at = now
	}
	if b.tokens >= burst {
		b.limited = 0 // the agent earned the whole burst back: a new burst may begin
	}
	admitted = b.tokens >= 1
	if admitted {
		b.tokens--
	} else if b.limited == 0 {
		b.limited, first = now, true
	}
	if err := writeBucket(f, b); err != nil {
		return false, false, fmt.Errorf("audit: rate limit: %w", err)
	}
	return admitted, first, nil
}

func (l *Log) openRate() (*os.File, error) {
	name := filepath.Join(l.Dir, RateFileName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(l.Dir, 0o700); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	}
	return f, err
}

// readBucket reads the state; a new file, or one that is not ours (a
// crash before the first write), reads as the zero bucket.
func readBucket(f *os.File) (bucket, error) {
	var buf [rateStateLen]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return bucket{}, err
	}
	if n < rateStateLen || string(buf[:4]) != rateMagic {
		return bucket{}, nil
	}
	b := bucket{
		tokens:  math.Float64frombits(binary.LittleEndian.Uint64(buf[4:])),
		at:      int64(binary.LittleEndian.Uint64(buf[12:])),
		limited: int64(binary.LittleEndian.Uint64(buf[20:])),
	}
	if math.IsNaN(b.tokens) || b.tokens < 0 {
		b.tokens = 0 // a damaged count admits nothing until the bucket refills
	}
	return b, nil
}

func writeBucket(f *os.File, b bucket) error {
	var buf [rateStateLen]byte
	copy(buf[:], rateMagic)
	binary.LittleEndian.PutUint64(buf[4:], math.Float64bits(b.tokens))
	binary.LittleEndian.PutUint64(buf[12:], uint64(b.at))
	binary.LittleEndian.PutUint64(buf[20:], uint64(b.limited))
	_, err := f.WriteAt(buf[:], 0)
	return err
}
