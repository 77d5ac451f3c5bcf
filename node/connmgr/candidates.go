package connmgr

import "net/netip"

// candidates is where outbound addresses come from when the manager keeps
// KindSeed peers: the one place that knows them. Today the DNS seeds'
// answers are added (EvSeeds) and taken first in, first out (the node
// shuffles each answer); an address book (with gossip's addresses) will
// take its place behind the same two methods.
type candidates struct {
	queue []netip.AddrPort
	known map[netip.AddrPort]bool // in queue
}

// add queues the addresses not already queued and returns how many it
// queued.
func (c *candidates) add(addrs []netip.AddrPort) int {
	if c.known == nil {
		c.known = make(map[netip.AddrPort]bool)
	}
	n := 0
	for _, a := range addrs {
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		if !a.Addr().IsValid() || a.Port() == 0 || c.known[a] {
			continue
		}
		c.known[a] = true
		c.queue = append(c.queue, a)
		n++
	}
	return n
}

// next takes the oldest queued address.
func (c *candidates) next() (netip.AddrPort, bool) {
	if len(c.queue) == 0 {
		return netip.AddrPort{}, false
	}
	a := c.queue[0]
	c.queue = c.queue[1:]
	delete(c.known, a)
	return a, true
}

func (c *candidates) empty() bool { return len(c.queue) == 0 }
