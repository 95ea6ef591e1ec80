package main

import (
	"errors"
	"fmt"

	"github.com/devicegate/devicegate/internal/privdrop"
)

// guardUser is the user the guard runs as: distroless' nonroot, the owner
// of /run/guard in the image.
const guardUser = 65532

// dropRoot leaves root, when the guard (or its health check) was started
// as root, for guardUser with the engine socket's group: a compose file
// then needs no DOCKER_GID (the socket is root:docker on a Linux engine,
// with a gid that differs between distributions, and root:root on Docker
// Desktop). It says what it did, "" when it had nothing to drop.
func dropRoot(upstream string) (string, error) {
	gid, err := privdrop.ToSocketGroup(upstream, guardUser, guardUser)
	if errors.Is(err, privdrop.ErrNotRoot) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("started as root: now uid %d with group %d of %s", guardUser, gid, upstream), nil
}
