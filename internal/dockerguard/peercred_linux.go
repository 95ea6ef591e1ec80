package dockerguard

import (
	"net"
	"syscall"
)

// peerCred reads SO_PEERCRED: the credentials of the process that connected.
func peerCred(c net.Conn) (peer, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peer{}, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peer{}, false
	}
	var cred *syscall.Ucred
	var cerr error
	err = raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cerr != nil {
		return peer{}, false
	}
	return peer{uid: int32(cred.Uid), pid: cred.Pid}, true
}
