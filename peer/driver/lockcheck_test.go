package driver

import "testing"

// TestOwnCheck: in race and debug builds, a method that needs own panics
// when its caller does not hold it, and passes when it does.
func TestOwnCheck(t *testing.T) {
	if !lockChecked {
		t.Skip("own's holder is checked in race and debug builds only")
	}
	var l ownLock
	panics := func() (p bool) {
		defer func() { p = recover() != nil }()
		l.check()
		return false
	}
	if !panics() {
		t.Error("check passed with the lock free")
	}
	l.Lock()
	if panics() {
		t.Error("check failed for the holder")
	}
	other := make(chan bool)
	go func() { other <- panics() }()
	if !<-other {
		t.Error("check passed on a goroutine that does not hold the lock")
	}
	l.Unlock()
	if !l.TryLock() || panics() {
		t.Error("TryLock did not record the holder")
	}
	l.Unlock()
}
