package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/peerd/peerd/node/connmgr"
)

// DefaultBanTime is how long a ban lasts when the operator gives none
// (Core's -bantime, btcd's --banduration).
const DefaultBanTime = 24 * time.Hour

// Errors of the ban list.
var (
	ErrBadSubnet     = connmgr.ErrBadSubnet
	ErrAlreadyBanned = connmgr.ErrAlreadyBanned
	ErrNotBanned     = connmgr.ErrNotBanned
)

// Ban is one entry of the ban list.
type Ban = connmgr.Ban

// ParseSubnet accepts "1.2.3.4", "1.2.3.0/24", "::1", "2001:db8::/32".
func ParseSubnet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: %q", ErrBadSubnet, s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Ban adds an operator ban and disconnects the peers it covers. Safe for
// concurrent use.
func (n *Node) Ban(subnet netip.Prefix, until time.Time) error {
	_, err := n.step(connmgr.Event{Kind: connmgr.EvCmd, Cmd: connmgr.CmdBan, Subnet: subnet, Until: until})
	if err == nil {
		n.stats.Bans.Add(1)
	}
	return err
}

// Unban removes an operator ban.
func (n *Node) Unban(subnet netip.Prefix) error {
	_, err := n.step(connmgr.Event{Kind: connmgr.EvCmd, Cmd: connmgr.CmdUnban, Subnet: subnet})
	return err
}

// ClearBans removes every ban.
func (n *Node) ClearBans() error {
	_, err := n.step(connmgr.Event{Kind: connmgr.EvCmd, Cmd: connmgr.CmdClearBans})
	return err
}

// Bans lists the bans in force, oldest first.
func (n *Node) Bans() []Ban {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m.Bans(time.Now())
}

// loadBans reads the ban list at path; a missing file is an empty list,
// and a file that does not parse is reported and replaced (bans are the
// operator's convenience, never a reason not to start). The manager drops
// the expired ones.
func loadBans(path string) ([]Ban, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var bans []Ban
	if err := json.Unmarshal(b, &bans); err != nil {
		return nil, fmt.Errorf("ban list %s unreadable, starting empty: %w", path, err)
	}
	return bans, nil
}

// saveBans writes the manager's ban list to the ban file (to a temporary
// file, synced and renamed, so a crash leaves the old or the new list,
// never half of one). Writers take banMu and read the list under it, so
// the last write is of the latest list.
func (n *Node) saveBans() error {
	path := n.cfg.BanFile
	if path == "" {
		return nil
	}
	n.banMu.Lock()
	defer n.banMu.Unlock()
	bans := n.Bans()
	data, err := json.MarshalIndent(bans, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}
