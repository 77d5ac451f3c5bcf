package btcdtest

import "syscall"

// sysProcAttr makes the kernel SIGKILL btcd if the thread that started it
// dies, so a test binary killed without running its cleanups (for example
// by a -timeout panic) does not leave btcd running. See start for how the
// forking thread is kept alive.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
