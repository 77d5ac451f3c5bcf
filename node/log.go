package node

import "github.com/btcsuite/btclog"

// log is the NODE subsystem logger; silent until UseLogger is called.
var log = btclog.Disabled

// UseLogger sets the package logger. Call it before the node runs.
func UseLogger(l btclog.Logger) { log = l }
