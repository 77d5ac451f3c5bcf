//go:build unix

package main

import "syscall"

// restrictUmask makes the files peerd creates readable by its user only
// (umask 077, as bitcoind sets by default): the rotated log files among
// them, which the rotator creates with mode 0644.
func restrictUmask() { syscall.Umask(0o077) }
