//go:build !race && !peerddebug

package driver

import "sync"

// lockChecked says whether ownLock checks its holder in this build.
const lockChecked = false

// ownLock is own's mutex. In race-detector and debug (-tags peerddebug)
// builds it also records which goroutine holds it, and check panics when
// the caller is not that goroutine (x/net/http2's serveG.check is the
// model); here check costs nothing.
type ownLock struct{ sync.Mutex }

func (l *ownLock) check() {}
