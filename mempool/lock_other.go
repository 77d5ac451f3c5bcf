//go:build !unix

package mempool

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDir does not lock outside Unix: one Pool per directory is then up to
// the caller.
func lockDir(dir string) (io.Closer, error) { return noLock{}, nil }

// syncDir does nothing: a directory cannot be opened and fsynced outside
// Unix, so there a compaction's rename is durable only once the file
// system flushes its metadata.
func syncDir(dir string) error { return nil }
