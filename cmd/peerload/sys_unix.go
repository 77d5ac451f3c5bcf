//go:build linux || darwin

package main

import (
	"fmt"
	"syscall"
	"time"
)

// raiseFileLimit makes sure the process may hold need file descriptors:
// it raises RLIMIT_NOFILE's soft limit (and the hard one, which only a
// privileged process can) when it is lower. It returns the soft limit in
// force afterwards, and an error saying why it could not reach need.
func raiseFileLimit(need uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("getrlimit: %v", err)
	}
	if rl.Cur >= need {
		return rl.Cur, nil
	}
	if rl.Max < need {
		raised := syscall.Rlimit{Cur: need, Max: need}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			return need, nil
		}
		// Not privileged: go as far as the hard limit.
		if rl.Cur < rl.Max {
			up := syscall.Rlimit{Cur: rl.Max, Max: rl.Max}
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err == nil {
				rl.Cur = rl.Max
			}
		}
		return rl.Cur, fmt.Errorf("the hard limit on open files is %d, below the %d needed, and it cannot be raised "+
			"(raise it with ulimit -Hn as root, or /etc/security/limits.conf)", rl.Max, need)
	}
	up := syscall.Rlimit{Cur: need, Max: rl.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err != nil {
		return rl.Cur, fmt.Errorf("setrlimit(RLIMIT_NOFILE, %d): %v", need, err)
	}
	return need, nil
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
