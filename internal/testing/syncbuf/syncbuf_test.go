package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Writers and a reader at once: under -race this fails if the buffer is
// not guarded, and every byte written is kept.
func TestConcurrentWriteAndRead(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if n, err := b.Write([]byte("ab")); n != 2 || err != nil {
					t.Errorf("Write = %d, %v", n, err)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			if s := b.String(); strings.Trim(s, "ab") != "" {
				t.Errorf("String = %q", s)
			}
		}
	}()
	wg.Wait()
	<-done
	if got := b.String(); got != strings.Repeat("ab", 400) {
		t.Errorf("after all writes: %d bytes, want 800", len(got))
	}
}
