package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/preset"
)

const approvalsUsage = `usage: sidecar approvals

For the owner, in the sidecar container (docker exec -it CONTAINER sidecar
approvals): shows the agent's requests waiting for approval as they come,
with everything the gatekeeper bot's message shows, and takes the answer
from the keyboard:

  o [N]   allow once        (N: the request's number; the oldest by default)
  h [N]   allow for 1 hour
  d [N]   deny
  q       quit

Works with or without the gatekeeper bot; where both are there, the first
answer wins and the other is updated. The agent cannot run it.`

// approvalsCmd is `sidecar approvals`.
func approvalsCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("approvals", stderr, approvalsUsage)
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("approvals takes no arguments")
	}
	// The guard refuses it for the agent too; this is the second lock.
	if audit.Caller(os.Getenv) == audit.CallerAgent {
		return cli.Exit(exitcode.Refused, errors.New("sidecar approvals is for the owner: the agent cannot answer its own requests"))
	}
	c, err := config.Load(preset.Kinds())
	if err != nil {
		return err
	}
	w, err := approval.Watch(ctx, approval.SocketPath(c.DataDir))
	if errors.Is(err, approval.ErrNoListener) {
		return errors.New("no sidecar serve is running in this container: approvals come from it")
	}
	if err != nil {
		return err
	}
	defer w.Close()
	stop := context.AfterFunc(ctx, func() { w.Close() })
	defer stop()
	return (&console{w: w, out: stdout}).run(stdin)
}

// console is the terminal's side: the questions waiting, numbered in the
// order they came.
type console struct {
	w   *approval.Watcher
	out io.Writer

	mu      sync.Mutex
	next    int
	waiting []waitingQuestion
}

type waitingQuestion struct {
	n  int
	id string
}

const consoleKeys = "o = allow once, h = allow for 1 hour, d = deny (then Enter; add a number for another request), q = quit"

func (c *console) run(stdin io.Reader) error {
	fmt.Fprintln(c.out, "Waiting for the agent's requests. "+consoleKeys)
	done := make(chan error, 1)
	go func() { done <- c.events() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case err := <-done:
			return err
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			if quit := c.key(line); quit {
				return nil
			}
		}
	}
}

// events prints what serve sends until it hangs up.
func (c *console) events() error {
	for {
		ev, err := c.w.Next()
		if err != nil {
			return errors.New("sidecar serve stopped: nothing is waiting here any more")
		}
		c.mu.Lock()
		switch {
		case ev.Pending != nil:
			c.next++
			c.waiting = append(c.waiting, waitingQuestion{n: c.next, id: ev.Pending.ID})
			fmt.Fprintf(c.out, "\n── Request %d ─────────────────────────\n%s%s\n", c.next,
				termSafe(bridge.QuestionText(ev.Pending.Question)), consoleKeys)
		case ev.Done != nil:
			for i, q := range c.waiting {
				if q.id == ev.Done.ID {
					fmt.Fprintf(c.out, "Request %d: %s\n", q.n, termSafe(ev.Done.Outcome))
					c.waiting = append(c.waiting[:i], c.waiting[i+1:]...)
					break
				}
			}
		}
		c.mu.Unlock()
	}
}

// key acts on one line typed; it reports whether to quit.
func (c *console) key(line string) (quit bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	var ch approval.Choice
	switch strings.ToLower(f[0]) {
	case "q", "quit":
		return true
	case "o":
		ch = approval.AllowOnce
	case "h":
		ch = approval.AllowHour
	case "d":
		ch = approval.Deny
	default:
		fmt.Fprintln(c.out, consoleKeys)
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiting) == 0 {
		fmt.Fprintln(c.out, "No request is waiting.")
		return false
	}
	q := c.waiting[0]
	if len(f) > 1 {
		n, err := strconv.Atoi(f[1])
		found := false
		for _, w := range c.waiting {
			if err == nil && w.n == n {
				q, found = w, true
			}
		}
		if !found {
			fmt.Fprintf(c.out, "No request %s is waiting.\n", termSafe(f[1]))
			return false
		}
	}
	if err := c.w.Answer(q.id, ch); err != nil {
		fmt.Fprintf(c.out, "Could not answer: %v\n", err)
	}
	return false
}

// termSafe shows control characters as escapes: a request's fields are the
// agent's words, and must not steer the owner's terminal (ANSI sequences
// that move the cursor or rewrite what was shown).
func termSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069':
			b.WriteString(strconv.QuoteRuneToASCII(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
