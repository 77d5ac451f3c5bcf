package mempool

import (
	"errors"
	"testing"
	"time"
)

// TestPrivateSurvivesRestart: a private entry stays private across a
// restart until Publish, and a published one stays public; neither is
// re-announced by Unbroadcast while private.
func TestPrivateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	pub := mustAdd(t, p, testTx(1))
	priv, err := p.AddPrivate(testTx(2))
	if err != nil {
		t.Fatal(err)
	}
	later, err := p.AddPrivate(testTx(3))
	if err != nil {
		t.Fatal(err)
	}
	if pub.Private() || !priv.Private() || !later.Private() {
		t.Fatalf("flags: public %v, private %v %v", pub.Private(), priv.Private(), later.Private())
	}
	if got := p.Unbroadcast(); len(got) != 1 || got[0] != pub {
		t.Fatalf("Unbroadcast lists %d entries, want only the public one", len(got))
	}
	if again, err := p.AddPrivate(testTx(2)); !errors.Is(err, ErrAlreadyHave) || again != priv {
		t.Fatalf("AddPrivate of a private entry again: %v, %v", again, err)
	}
	mustClose(t, p)

	// kill -9 is a close without anything more: the log is all there is.
	p = open(t, dir, clk, Config{})
	byID := func(e *Entry) *Entry {
		got, ok := p.Get(e.TxID)
		if !ok {
			t.Fatalf("entry %v lost", e.TxID)
		}
		return got
	}
	if byID(pub).Private() || !byID(priv).Private() || !byID(later).Private() {
		t.Fatal("private flags not restored")
	}
	if ok, err := p.Publish(priv.TxID); !ok || err != nil {
		t.Fatalf("Publish: %v, %v", ok, err)
	}
	if ok, err := p.Publish(priv.TxID); ok || err != nil {
		t.Fatalf("Publish of a public entry: %v, %v (want false, nil)", ok, err)
	}
	if ok, err := p.Publish(testTx(99).TxHash()); ok || err != nil {
		t.Fatalf("Publish of an unknown txid: %v, %v", ok, err)
	}
	mustClose(t, p)

	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	if st := p.LoadStats(); st.Damaged() || st.Skipped != 0 {
		t.Fatalf("LoadStats %v", st)
	}
	if byID(priv).Private() || !byID(later).Private() {
		t.Fatalf("after publish and restart: published private=%v, other private=%v", byID(priv).Private(), byID(later).Private())
	}
}

// TestPrivateAcrossRewrite: a compaction writes each entry's add record
// with its current flag, so the publish record it drops is not needed.
func TestPrivateAcrossRewrite(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	a, _ := p.AddPrivate(testTx(1))
	b, _ := p.AddPrivate(testTx(2))
	if _, err := p.Publish(a.TxID); err != nil {
		t.Fatal(err)
	}
	p.sem <- struct{}{}
	if err := p.rewriteLocked(); err != nil {
		t.Fatal(err)
	}
	<-p.sem
	mustClose(t, p)
	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	ga, _ := p.Get(a.TxID)
	gb, _ := p.Get(b.TxID)
	if ga == nil || gb == nil || ga.Private() || !gb.Private() {
		t.Fatalf("after rewrite: %v %v", ga, gb)
	}
}

// TestAttemptRecords: attempts are created and updated by id, kept in
// order, counted against the pool's record budget and given back when the
// entry goes.
func TestAttemptRecords(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{MaxRecords: 3})
	defer mustClose(t, p)
	e, _ := p.AddPrivate(testTx(1))
	t0 := time.Unix(1000, 0)
	for id := uint64(1); id <= 3; id++ {
		if !p.RecordAttempt(e.TxID, id, func(a *Attempt) { a.Addr = "127.0.0.1:1"; a.Opened = t0 }) {
			t.Fatalf("attempt %d not recorded", id)
		}
	}
	if p.RecordAttempt(e.TxID, 4, func(a *Attempt) {}) {
		t.Fatal("attempt past the record budget was recorded")
	}
	if !p.RecordAttempt(e.TxID, 2, func(a *Attempt) { a.Received = t0.Add(time.Second); a.Outcome = "receipt" }) {
		t.Fatal("update of attempt 2 refused")
	}
	p.RecordConfirmed(e.TxID, t0.Add(2*time.Second))
	p.RecordConfirmed(e.TxID, t0.Add(9*time.Second))
	pr, _ := p.Propagation(e.TxID)
	if len(pr.Attempts) != 3 || pr.Attempts[1].ID != 2 || pr.Attempts[1].Outcome != "receipt" || pr.Attempts[1].Addr != "127.0.0.1:1" {
		t.Fatalf("attempts %+v", pr.Attempts)
	}
	if !pr.Confirmed.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("confirmed %v", pr.Confirmed)
	}
	if p.RecordAttempt(testTx(9).TxHash(), 1, func(*Attempt) {}) {
		t.Fatal("attempt of an unknown txid recorded")
	}
	if _, err := p.Remove(e.TxID); err != nil {
		t.Fatal(err)
	}
	if got := p.records.Load(); got != 0 {
		t.Fatalf("records budget after removal: %d, want 0", got)
	}
}
