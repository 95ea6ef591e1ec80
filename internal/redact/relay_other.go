//go:build !linux

package redact

import (
	"errors"
	"io"
	"os"
	"sync"
)

// Relay carries a child's standard output and error, through a [NewPair],
// to two writers. Here (not Linux) a goroutine reads each pipe, so a
// secret split across them is masked only when the two are read in the
// order written, and Stop waits for the pipes to end.
type Relay struct {
	pair [2]*Writer
	r, w [2]*os.File
	wg   sync.WaitGroup
	errs [2]error
}

// NewRelay returns a relay to stdout and stderr masking secrets.
func NewRelay(stdout, stderr io.Writer, secrets ...string) (*Relay, error) {
	rl := &Relay{}
	rl.pair[0], rl.pair[1] = NewPair(stdout, stderr, secrets...)
	for i := range rl.r {
		r, w, err := os.Pipe()
		if err != nil {
			rl.Close()
			return nil, err
		}
		rl.r[i], rl.w[i] = r, w
	}
	return rl, nil
}

// Files returns the ends the child writes to.
func (rl *Relay) Files() (stdout, stderr *os.File) { return rl.w[0], rl.w[1] }

// Start closes our copies of the child's ends and starts relaying.
func (rl *Relay) Start() {
	for i := range rl.r {
		rl.w[i].Close()
		rl.wg.Add(1)
		go func() {
			defer rl.wg.Done()
			_, rl.errs[i] = io.Copy(rl.pair[i], rl.r[i])
		}()
	}
}

// Stop waits for the pipes to end and writes out what was held back.
func (rl *Relay) Stop() error {
	rl.wg.Wait()
	err := errors.Join(rl.errs[0], rl.errs[1], rl.pair[0].Flush())
	rl.Close()
	return err
}

// Close releases the pipes.
func (rl *Relay) Close() {
	for _, f := range append(rl.r[:], rl.w[:]...) {
		if f != nil {
			f.Close()
		}
	}
}
