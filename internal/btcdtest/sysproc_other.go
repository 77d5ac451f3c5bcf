//go:build !linux

package btcdtest

import "syscall"

// sysProcAttr returns nil: only Linux can tie btcd's lifetime to the test
// binary (Pdeathsig); elsewhere btcd is stopped by the test cleanup only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
