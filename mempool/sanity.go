package mempool

import "github.com/btcsuite/btcd/wire/v2"

// CheckSanity runs the context-free checks that Add runs, without adding:
// the peers use it (on the executor) for transactions other nodes send.
// Safe for concurrent use.
func CheckSanity(tx *wire.MsgTx) error {
	_, err := checkTx(tx)
	return err
}
