//go:build !(linux || darwin)

package main

import (
	"errors"
	"time"
)

// raiseFileLimit cannot check or raise the limit on this system.
func raiseFileLimit(need uint64) (uint64, error) {
	return 0, errors.New("cannot check or raise the limit on open files on this system")
}

// cpuTime is not measured on this system.
func cpuTime() time.Duration { return 0 }
