package driver

import "github.com/btcsuite/btclog"

// log is the PEER subsystem logger; silent until UseLogger is called.
var log = btclog.Disabled

// UseLogger sets the package logger. Call it before any peer runs.
func UseLogger(l btclog.Logger) { log = l }
