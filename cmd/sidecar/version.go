package main

import (
	"fmt"
	"io"

	"github.com/devicegate/devicegate/internal/cli"
	v "github.com/devicegate/devicegate/internal/version"
)

const versionUsage = `usage: sidecar version

Prints the version of sidecar (also: sidecar --version, sidecar -v).`

func version(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("version", stderr, versionUsage)
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("version takes no arguments")
	}
	fmt.Fprintf(stdout, "sidecar %s\n", v.String())
	return nil
}
