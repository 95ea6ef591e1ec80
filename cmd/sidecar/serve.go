package main

import (
	"context"
	"io"

	"github.com/devicegate/devicegate/internal/cli"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Usagef("serve is not implemented yet")
}

func guard(ctx context.Context, args []string, stderr io.Writer) error {
	return cli.Usagef("guard is not implemented yet")
}

func health(args []string, stdout, stderr io.Writer) error {
	return nil
}
