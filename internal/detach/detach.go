// Package detach runs a profile's token refresh in a detached child
// process and waits for its outcome, so that killing the command that
// wanted the token never interrupts a refresh half done.
//
// A refresh rotates the refresh token at the provider; if the process that
// sent it dies before saving the answer, the old token is spent and the
// new one lost, and a provider with reuse detection then revokes the whole
// grant. Agents kill commands (timeouts, kill -9). So `sidecar token`,
// `run` and `api` refresh in a detached child (`sidecar __refresh`, its own
// session, so no signal aimed at the caller reaches it) and wait for it:
// killing the caller never interrupts a refresh.
package detach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/session"
)

// Command is the hidden subcommand that runs in the detached child: the
// program that uses Refresher must run Child for it.
const Command = "__refresh"

// refreshResult is what the child reports on file descriptor 3 (not
// stdout: if the caller is gone, a write there must fail quietly rather
// than raise SIGPIPE).
type refreshResult struct {
	Code    int    `json:"code"`
	Message string `json:"message,omitempty"`
	Stale   bool   `json:"stale,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Refresher returns a session.Detach that refreshes profile in a child:
// this program, started again as `PROGRAM __refresh --profile P ...`.
func Refresher(profile string) func(ctx context.Context, minTTL time.Duration, scopes []string) error {
	return func(ctx context.Context, minTTL time.Duration, scopes []string) error {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding the sidecar binary: %w", err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		args := []string{Command, "--profile", profile, "--min-ttl", minTTL.String()}
		if len(scopes) > 0 {
			args = append(args, "--scope", strings.Join(scopes, " "))
		}
		cmd := exec.Command(self, args...)
		cmd.ExtraFiles = []*os.File{w}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err = cmd.Start()
		w.Close()
		if err != nil {
			return fmt.Errorf("starting the refresh: %w", err)
		}
		// Not tied to ctx: on ^C we stop waiting, the child finishes.
		type outcome struct {
			res refreshResult
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			var o outcome
			b, _ := io.ReadAll(io.LimitReader(r, 1<<16))
			werr := cmd.Wait()
			if json.Unmarshal(b, &o.res) != nil {
				o.err = fmt.Errorf("the refresh process ended without a result: %v", werr)
			}
			done <- o
		}()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case o := <-done:
			if o.err != nil {
				return o.err
			}
			return o.res.err(profile)
		}
	}
}

// err rebuilds the child's error with its exit code and kind, so hints and
// exit codes are the same as for an in-process refresh.
func (r refreshResult) err(profile string) error {
	switch {
	case r.Code == exitcode.OK:
		return nil
	case r.Stale:
		return &session.StaleError{Err: cli.Exit(r.Code, errors.New(r.Message))}
	case r.Code == exitcode.SignInRequired:
		return &session.SignInError{Profile: profile, Reason: r.Reason}
	}
	return cli.Exit(r.Code, errors.New(r.Message))
}

// Child is `PROGRAM __refresh`: it opens the profile with open, refreshes
// in this process and reports to the waiting parent. It returns the exit
// code. The caller should ignore the signals that stop commands, so that
// once started the refresh runs to its end.
func Child(args []string, stderr io.Writer, open func(profile string) (*session.Session, error)) int {
	fs := cli.NewFlags(Command, stderr, "")
	profile := fs.String("profile", "", "")
	minTTL := fs.Duration("min-ttl", time.Minute, "")
	scope := fs.String("scope", "", "")
	if _, _, err := cli.Parse(fs, args); err != nil {
		return exitcode.Usage
	}
	var res refreshResult
	s, err := open(*profile)
	if err == nil {
		// Bounded, and deaf to signals: once started it runs to the end.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		if *scope != "" {
			_, err = s.ScopedToken(ctx, *minTTL, strings.Fields(*scope))
		} else {
			_, err = s.Token(ctx, *minTTL)
		}
		cancel()
	}
	var (
		stale *session.StaleError
		se    *session.SignInError
	)
	if err != nil {
		res = refreshResult{Code: cli.Code(err), Message: err.Error(), Stale: errors.As(err, &stale)}
		if errors.As(err, &se) {
			res.Reason = se.Reason
		}
		if res.Stale {
			res.Message, res.Code = stale.Err.Error(), cli.Code(stale.Err)
		}
	}
	if out := os.NewFile(3, "result"); out != nil {
		_ = json.NewEncoder(out).Encode(res) // the caller may be gone
		out.Close()
	}
	return res.Code
}
