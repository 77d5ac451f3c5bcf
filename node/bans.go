package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// DefaultBanTime is how long a ban lasts when the operator gives none
// (Core's -bantime, btcd's --banduration).
const DefaultBanTime = 24 * time.Hour

// Errors of the ban list.
var (
	ErrBadSubnet     = errors.New("invalid IP/Subnet")
	ErrAlreadyBanned = errors.New("IP/Subnet already banned")
	ErrNotBanned     = errors.New("unban failed: requested address/subnet was not previously manually banned")
)

// Ban is one entry of the ban list.
type Ban struct {
	Subnet  netip.Prefix `json:"subnet"`
	Created time.Time    `json:"created"`
	Until   time.Time    `json:"until"`
}

// banList holds the operator's bans, persisted as JSON (written to a
// temporary file, synced and renamed, so a crash leaves the old or the new
// list, never half of one). It is safe for concurrent use.
type banList struct {
	mu   sync.Mutex
	path string // "" keeps the list in memory only
	bans map[netip.Prefix]Ban
}

// loadBans reads path; a missing file is an empty list, and a file that does
// not parse is reported and replaced (bans are the operator's convenience,
// never a reason not to start).
func loadBans(path string) (*banList, error) {
	l := &banList{path: path, bans: map[netip.Prefix]Ban{}}
	if path == "" {
		return l, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	var bans []Ban
	if err := json.Unmarshal(b, &bans); err != nil {
		return l, fmt.Errorf("ban list %s unreadable, starting empty: %w", path, err)
	}
	now := time.Now()
	for _, b := range bans {
		if b.Subnet.IsValid() && b.Until.After(now) {
			l.bans[b.Subnet.Masked()] = b
		}
	}
	return l, nil
}

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

func (l *banList) add(p netip.Prefix, until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.bans[p]; ok && b.Until.After(time.Now()) {
		return ErrAlreadyBanned
	}
	l.bans[p] = Ban{Subnet: p, Created: time.Now(), Until: until}
	return l.saveLocked()
}

func (l *banList) remove(p netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.bans[p]; !ok {
		return ErrNotBanned
	}
	delete(l.bans, p)
	return l.saveLocked()
}

func (l *banList) clear() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bans = map[netip.Prefix]Ban{}
	return l.saveLocked()
}

// list returns the bans in force, oldest first.
func (l *banList) list() []Ban {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	out := make([]Ban, 0, len(l.bans))
	for p, b := range l.bans {
		if !b.Until.After(now) {
			delete(l.bans, p)
			continue
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// banned reports whether addr falls in a ban in force.
func (l *banList) banned(addr netip.Addr) bool {
	addr = addr.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for _, b := range l.bans {
		if b.Subnet.Contains(addr) && b.Until.After(now) {
			return true
		}
	}
	return false
}

func (l *banList) saveLocked() error {
	if l.path == "" {
		return nil
	}
	bans := make([]Ban, 0, len(l.bans))
	for _, b := range l.bans {
		bans = append(bans, b)
	}
	sort.Slice(bans, func(i, j int) bool { return bans[i].Created.Before(bans[j].Created) })
	data, err := json.MarshalIndent(bans, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(l.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// remoteAddr extracts the IP of a connection's remote address.
func remoteAddr(a net.Addr) (netip.Addr, bool) {
	if t, ok := a.(*net.TCPAddr); ok {
		ip := t.AddrPort().Addr().Unmap()
		return ip, ip.IsValid()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// subnetKey groups addresses as btcd does for its unfinished-handshake
// limit: the /24 of an IPv4 address, the /64 of an IPv6 one.
func subnetKey(a netip.Addr) netip.Prefix {
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}
