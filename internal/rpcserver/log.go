package rpcserver

import "github.com/btcsuite/btclog"

// log is the RPC server's logger; silent until UseLogger is called.
var log = btclog.Disabled

// UseLogger sets the package logger. Call it before the server runs.
func UseLogger(l btclog.Logger) { log = l }
