//go:build !linux

package main

import (
	"errors"
	"time"
)

var errNoProc = errors.New("reading another process's CPU time and memory needs Linux's /proc")

func procCPU(pid int) (time.Duration, error) { return 0, errNoProc }

func procRSS(pid int) (int64, error) { return 0, errNoProc }
