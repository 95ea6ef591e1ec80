package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const keygenUsage = `usage: sidecar keygen [--out FILE]

Print a new random SIDECAR_CACHE_KEY. With --out, write it to FILE (mode
0600) instead, unless FILE already holds a key: then keep that one, so the
command can run at every start of a container (the demo stack's init step).
A FILE with anything else in it is an error and is left alone.`

func keygen(args []string, stdout, stderr io.Writer) error {
	fset := cli.NewFlags("keygen", stderr, keygenUsage)
	out := fset.String("out", "", "write the key to this file unless it holds one")
	pos, _, err := cli.Parse(fset, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("keygen takes no arguments")
	}
	if *out == "" {
		fmt.Fprintln(stdout, tokencache.NewKey())
		return nil
	}
	created, err := writeKeyFile(*out)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "wrote a new cache key to %s\n", *out)
	} else {
		fmt.Fprintf(stdout, "%s already holds a cache key; kept it\n", *out)
	}
	return nil
}

// writeKeyFile creates path with a new key, atomically: the key goes to a
// temporary file that is then hard-linked to path, which fails if path
// exists. So a crash never leaves an empty or half-written key behind, and
// a key that encrypts a cache is never replaced.
func writeKeyFile(path string) (created bool, err error) {
	if b, err := os.ReadFile(path); err == nil {
		if _, perr := tokencache.ParseKey(string(b)); perr != nil {
			return false, cli.Exit(exitcode.Usage, fmt.Errorf("keygen: %s exists but holds no cache key (left alone): %w", path, perr))
		}
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("keygen: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keygen-*")
	if err != nil {
		return false, fmt.Errorf("keygen: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, fmt.Errorf("keygen: %w", err)
	}
	if _, err := io.WriteString(tmp, tokencache.NewKey()+"\n"); err != nil {
		tmp.Close()
		return false, fmt.Errorf("keygen: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("keygen: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("keygen: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another keygen won the race; its key stands.
			return writeKeyFile(path)
		}
		return false, fmt.Errorf("keygen: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return true, nil
}
