//go:build race

package driver

// raceEnabled: the race detector changes what allocates (sync.Pool drops
// items on purpose), so allocation counts are not checked under it.
const raceEnabled = true
