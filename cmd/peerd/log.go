package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/btcsuite/btclog"
	"github.com/jrick/logrotate/rotator"

	"github.com/peerd/peerd/internal/rpcserver"
	"github.com/peerd/peerd/internal/telnet"
	"github.com/peerd/peerd/node"
	"github.com/peerd/peerd/peer/driver"
)

// Logging subsystems: their tags, and how each package takes its logger.
// The daemon's own logger is PRDD (peerd).
const (
	subsysPeer = "PEER"
	subsysNode = "NODE"
	subsysMain = "PRDD"
	subsysRPC  = "RPCS"
	subsysTlnt = "TLNT"
)

// subsystems lists every subsystem, sorted, for --debuglevel.
var subsystems = []string{subsysNode, subsysPeer, subsysMain, subsysRPC, subsysTlnt}

// useLoggers hands each package its logger; it runs before the node starts
// and, with btclog.Disabled, after it has stopped.
func useLoggers(peerLog, nodeLog, rpcLog, telnetLog btclog.Logger) {
	driver.UseLogger(peerLog)
	node.UseLogger(nodeLog)
	rpcserver.UseLogger(rpcLog)
	telnet.UseLogger(telnetLog)
}

// levelNames are the accepted level names, most verbose first.
var levelNames = []string{"trace", "debug", "info", "warn", "error", "critical", "off"}

var levelByName = map[string]btclog.Level{
	"trace":    btclog.LevelTrace,
	"debug":    btclog.LevelDebug,
	"info":     btclog.LevelInfo,
	"warn":     btclog.LevelWarn,
	"error":    btclog.LevelError,
	"critical": btclog.LevelCritical,
	"off":      btclog.LevelOff,
}

// parseLevel reads a level name; in names the item it is part of, if any,
// for the error message.
func parseLevel(s, in string) (btclog.Level, error) {
	if l, ok := levelByName[strings.ToLower(s)]; ok {
		return l, nil
	}
	where := ""
	if in != "" {
		where = fmt.Sprintf(" in %q", in)
	}
	return 0, fmt.Errorf("unknown level %q%s (levels: %s)", s, where, strings.Join(levelNames, ", "))
}

// parseDebugLevels reads a --debuglevel value: a comma-separated list whose
// items are either a level, which applies to every subsystem, or
// SUBSYSTEM=level. Items apply in order, so "debug,PEER=trace" is
// everything at debug but PEER at trace. Subsystem and level names are case
// insensitive. Unlike btcd, which ignores what follows a second "=" and
// cannot mix the two forms, every part must make sense.
//
// The result has a level for every subsystem; unmentioned ones are at info.
func parseDebugLevels(spec string) (map[string]btclog.Level, error) {
	levels := make(map[string]btclog.Level, len(subsystems))
	for _, s := range subsystems {
		levels[s] = btclog.LevelInfo
	}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty item in %q (want a level or SUBSYSTEM=level pairs separated by commas)", spec)
		}
		name, lvl, pair := strings.Cut(item, "=")
		if !pair {
			l, err := parseLevel(item, "")
			if err != nil {
				return nil, err
			}
			for _, s := range subsystems {
				levels[s] = l
			}
			continue
		}
		subsys := strings.ToUpper(strings.TrimSpace(name))
		if _, ok := levels[subsys]; !ok {
			return nil, fmt.Errorf("unknown subsystem %q in %q (subsystems: %s)",
				strings.TrimSpace(name), item, strings.Join(subsystems, ", "))
		}
		l, err := parseLevel(strings.TrimSpace(lvl), item)
		if err != nil {
			return nil, err
		}
		levels[subsys] = l
	}
	return levels, nil
}

// logging is one run's loggers, all writing to one backend.
type logging struct {
	loggers map[string]btclog.Logger
}

// newLogging makes a logger per subsystem writing to w, at the levels of
// the --debuglevel spec (already validated).
func newLogging(w io.Writer, spec string) (*logging, error) {
	levels, err := parseDebugLevels(spec)
	if err != nil {
		return nil, err
	}
	backend := btclog.NewBackend(w)
	lg := &logging{loggers: make(map[string]btclog.Logger, len(subsystems))}
	for _, s := range subsystems {
		l := backend.Logger(s)
		l.SetLevel(levels[s])
		lg.loggers[s] = l
	}
	return lg, nil
}

func (lg *logging) logger(subsys string) btclog.Logger { return lg.loggers[subsys] }

// teeWriter writes to every writer, whatever the others do: a closed
// stdout must not stop the log file, nor the reverse. Its callers (the
// btclog backend) serialize writes.
type teeWriter []io.Writer

func (t teeWriter) Write(p []byte) (int, error) {
	for _, w := range t {
		_, _ = w.Write(p) // a logger has nowhere to report its own errors
	}
	return len(p), nil
}

// openLogFile opens the log file at path for appending, rotated as btcd
// rotates its own (github.com/jrick/logrotate): once it reaches
// thresholdKB kilobytes (of 1,000 bytes) it is renamed path.N, gzipped
// to path.N.gz in the background, and a new file starts; the newest
// maxRolls rotated files are kept (0: all). Close waits for the
// compression under way.
//
// The file is created with mode 0600; the rotator creates the next ones
// 0644 less the umask, which peerd sets to 077 (see main), as bitcoind
// does.
func openLogFile(path string, thresholdKB int64, maxRolls int) (io.WriteCloser, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	return rotator.New(path, thresholdKB, false, maxRolls)
}
