// Package mempool holds the transactions the operator injected: it checks
// them, bounds them, keeps them on disk across restarts, hands them to the
// relay in acceptance order, and remembers which peers asked for what.
//
// peerd keeps no chain and no UTXO set, so only Bitcoin Core's
// context-free checks apply (CheckTransaction, the coinbase test of
// PreChecks, and the standard weight limit of IsStandardTx); inputs,
// scripts, fees and standardness beyond weight are the peers' business.
//
// # Life of a transaction
//
//  1. Add checks it and refuses it with a *RejectError carrying Core's
//     reject reason, or with ErrAlreadyHave (and the existing entry).
//  2. Add gives it the next Seq, appends an add record to the log and
//     fsyncs; concurrent Adds share one write and one fsync. Add returns
//     only then: an acknowledged transaction survives kill -9.
//  3. As soon as it is in the batch being written, Notify wakes the relay,
//     which reads Accepted(last Seq it saw) and may announce it while the
//     fsync runs; once durable it becomes visible to Get, Since, Entries.
//  4. The relay notes inv, getdata and inv-back per peer (RecordInv,
//     RecordFetch, RecordSeen); Unbroadcast lists what nobody fetched yet.
//  5. Remove or Expire drop it, with a removal record, fsynced.
//
// # Concurrency
//
// Every method of Pool is safe for concurrent use. Lookups take a read
// lock and return copies of slices (entries are shared and immutable).
// Add, Remove, Expire block until their records are fsynced; Close waits
// for a write in progress. Nothing blocks on the consumer of Notify.
//
// # Log format (dir/mempool.log)
//
// All integers little-endian; CRCs are CRC-32C (Castagnoli).
//
//	file header (20 bytes): "peerdmp\x01" | salt uint64 (random per file) | crc32c(first 16 bytes)
//	record:
//	  magic   [4]byte  f9 6d 70 72 ("\xf9mpr")
//	  length  uint32   payload length, at most 17 + MaxStandardTxWeight
//	  pcrc    uint32   crc32c(payload)
//	  hcrc    uint32   crc32c(salt | offset of this record, uint64 | magic, length, pcrc)
//	  payload
//	    add:    0x01 | seq uint64 | added int64 (Unix ns) | tx (serialized with witness)
//	    remove: 0x02 | seq uint64 | txid [32]byte
//	    add, private (AddPrivate): 0x03, then as add
//	    publish (Publish):         0x04 | seq uint64 | txid [32]byte (the entry's seq)
//
// A private entry (awaiting private broadcast) stays private across
// restarts until its publish record; a rewrite writes each live entry's
// add record with the entry's current flag.
//
// Records are only appended. The header CRC binds a record to its place
// and its file, so bytes inside a transaction cannot pass for a record, and
// a length is trusted (and its payload read, into a bounded buffer) only
// once its header checks out. At Open:
//
//   - a tail that does not form a whole intact record (a torn write) is cut
//     off and reported (LoadStats.TornTail);
//   - a corrupt stretch followed by intact records is skipped up to the next
//     valid header (LoadStats.BadRegions), and the damaged file is copied
//     to mempool.log.corrupt before the log is rewritten;
//   - an unreadable file header makes the whole file untrusted: it is
//     copied aside the same way and the pool starts empty;
//   - intact add records are decoded and checked again; a refused one (or
//     a record of unknown type) is counted in LoadStats.Skipped, and the
//     file is copied aside and rewritten as for a corrupt stretch.
//
// When dead records (removed entries' adds, and removals) outnumber live
// entries (and are at least 64), the log is compacted: the live entries are
// written to mempool.log.tmp, which is fsynced and renamed over the log,
// and the directory is fsynced. Dir/LOCK (flock) keeps a second process out.
//
// A failed write or fsync makes the pool refuse all later writes with that
// error (the state of the file is then unknown); it stays readable. Reopen
// it: Open trims whatever the failed write left.
//
// # For the RPC layer (Bitcoin Core's sendrawtransaction)
//
//   - *RejectError: RPC_VERIFY_REJECTED (-26), message Reason (Core's reasons
//     carry no detail for these checks; Error() adds ours after ", ").
//   - ErrAlreadyHave: success, returning the txid, as Core does for a
//     transaction already in its mempool.
//   - ReasonSameNonWitness: Core's sendrawtransaction also answers success
//     with the txid when a transaction with that txid (and another witness)
//     is in its mempool; only testmempoolaccept reports the reason.
//   - ErrClosed and I/O errors: RPC_MISC_ERROR (-1) or internal error.
package mempool
