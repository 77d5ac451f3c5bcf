package telnet

import "github.com/btcsuite/btclog"

// log is the TLNT subsystem logger; silent until UseLogger is called.
var log = btclog.Disabled

// UseLogger sets the package logger. Call it before a server runs.
func UseLogger(l btclog.Logger) { log = l }
