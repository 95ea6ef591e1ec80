//go:build !linux

package confine

// AwaitExit returns at once here: the caller reaps the child and then
// kills its group, whose id could in principle be reused meanwhile.
func AwaitExit(pid int) error { return nil }

// AdoptOrphans does nothing here: only Linux has child subreapers.
func AdoptOrphans() error { return nil }

// KillOrphans does nothing here.
func KillOrphans(keep int) error { return nil }
