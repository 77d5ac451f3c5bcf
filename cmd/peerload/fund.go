package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/regtestfund"
)

// runFund is fund mode: it mines, over the node's RPC, until the coinbases
// of blocks 1 to --txs are mature, and writes a signed spend of each, hex,
// one a line (regtestfund.Fund), for relay --txfile. With --address it
// prints the address the node must mine to, and needs no RPC.
func runFund(ctx context.Context, e *env, o *fundOptions) error {
	if n := e.net.params.Net; n != wire.TestNet && n != wire.SimNet {
		return &usageError{"fund mines blocks: --regtest or --simnet only"}
	}
	if o.Address {
		_, err := fmt.Fprintln(e.stdout, regtestfund.Address(e.net.params))
		return err
	}
	switch {
	case o.Txs < 1:
		return &usageError{"--txs must be at least 1"}
	case o.Fee < 0:
		return &usageError{"--fee cannot be negative"}
	}
	defer e.rpc.close()
	e.progress("mining to %s until the coinbases of blocks 1 to %d are mature", regtestfund.Address(e.net.params), o.Txs)
	txs, err := regtestfund.Fund(ctx, e.rpc.call, e.net.params, o.Txs, o.Fee)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, tx := range txs {
		b.WriteString(regtestfund.TxHex(tx))
		b.WriteByte('\n')
	}
	if o.Out == "" {
		_, err = fmt.Fprint(e.stdout, b.String())
		return err
	}
	if err := os.WriteFile(o.Out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	e.progress("wrote %d transactions to %s", len(txs), o.Out)
	return nil
}
