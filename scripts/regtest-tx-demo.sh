#!/usr/bin/env bash
# regtest-tx-demo.sh: a real transaction through peerd, with no internet.
#
# Builds the pinned btcd (v0.26.2), peerd, peerctl and peerload; starts
# btcd in regtest, mining to a well-known key (internal/regtestfund), and
# peerd connected to it. Then:
#
#  1. peerload fund mines 101 blocks over btcd's RPC and signs a spend of
#     the first block's (now mature) coinbase: a transaction btcd accepts.
#  2. peerctl sendrawtransaction hands it to peerd, which writes it to disk,
#     announces it to btcd, and serves it when btcd asks (getdata).
#  3. btcd's getrawmempool shows it arrived and was accepted; peerctl
#     getmempoolentry shows peerd's propagation record, and peerctl txstatus
#     sums it up.
#  4. The same with a made-up transaction (the real one, spending a coin
#     that does not exist): peerd accepts it (it checks no inputs: it keeps
#     no chain), btcd fetches it and drops it, and txstatus does not call
#     that a success.
#
# Exits 0 only when the real transaction reached btcd's mempool and the
# made-up one did not; any failure stops it with status 1, the failing
# part named and the end of its log shown. Every port is a free one.

source "$(dirname "$0")/regtest-lib.sh"

build
mining_addr=$("$work/bin/peerload" --regtest fund --address) || die "" "peerload fund --address failed"
start_btcd --miningaddr="$mining_addr"
# Announce at once to outbound peers (btcd is one), not after ~2 s.
start_peerd --trickleinterval=0s
wait_for 30 "peerd's handshake with btcd" peerd handshaken
echo "   peerd's log: $work/data/regtest/peerd.log (DEMO_KEEP=1 keeps it)"

echo
echo "== 1. funding: btcd mines 101 blocks to $mining_addr; peerload signs a spend of block 1's coinbase"
"$work/bin/peerload" --regtest --rpcserver="127.0.0.1:$btcd_rpc" --rpcuser=demo --rpcpass=demo -q \
	fund --txs=1 --out="$work/tx.hex" 2>"$work/peerload.out" || die peerload "peerload fund against btcd failed"
hex=$(head -n 1 "$work/tx.hex")
echo "   \$ peerctl --regtest sendrawtransaction ${hex:0:40}... (${#hex} hex digits)"

echo
echo "== 2. injecting it into peerd"
txid=$(peerctl sendrawtransaction "$hex" 2>"$work/peerctl.out") || die peerctl "peerctl sendrawtransaction refused it"
echo "   txid $txid"

echo
echo "== 3. waiting for it in btcd's mempool (btcd's getrawmempool)"
in_btcd_mempool() { btcd_call getrawmempool | grep -q "\"$1\""; }
wait_for 30 "transaction $txid in btcd's mempool" btcd in_btcd_mempool "$txid"
echo "   btcd's getrawmempool: $(btcd_call getrawmempool | grep -o '"result":\[[^]]*\]')"
echo "   \$ peerctl --regtest getmempoolentry $txid   (its propagation record: the peers it announced the transaction to, that fetched it, that announced it back; Unix times)"
peerctl getmempoolentry "$txid" | sed -n '/"propagation"/,$p' | sed 's/^/   /'
echo "   \$ peerctl --regtest txstatus $txid"
peerctl txstatus "$txid" | sed 's/^/   /'

echo
echo "== 4. a made-up transaction: the same one, spending a coin that does not exist"
# A legacy (non-witness) transaction's first input starts after the
# version (4 bytes) and the input count (1 byte): its 32-byte previous txid.
fake=${hex:0:10}$(printf '%064x' 1)${hex:74}
fake_txid=$(peerctl sendrawtransaction "$fake" 2>"$work/peerctl.out") || die peerctl "peerctl sendrawtransaction refused the made-up transaction"
echo "   peerd accepted it (it checks no inputs: it keeps no chain): txid $fake_txid"
fetched_fake() { peerctl getmempoolentry "$fake_txid" | tr -d ' \n' | grep -q '"fetched":\[{'; }
wait_for 30 "btcd fetching the made-up transaction" peerd fetched_fake
sleep 2 # time for btcd to accept it, if it were to
if in_btcd_mempool "$fake_txid"; then
	die btcd "btcd accepted the made-up transaction $fake_txid"
fi
echo "   btcd fetched it and dropped it: it is not in btcd's mempool"
echo "   \$ peerctl --regtest txstatus $fake_txid"
peerctl txstatus "$fake_txid" | sed 's/^/   /'

check_alive
echo
echo "== done: the real transaction is in btcd's mempool, the made-up one is not."
echo "   peerd sees the same for both (btcd announces neither back to peerd, which"
echo "   sent it), so txstatus claims no success: only a peer announcing a"
echo "   transaction back shows that it accepted it."
