package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/internal/rpcserver"
	"github.com/peerd/peerd/internal/web"
	"github.com/peerd/peerd/node"
)

// webAddr is --web's address: "host:port", or a bare port number (host
// 127.0.0.1); "" for no page. It is stored as host:port.
type webAddr string

func (a *webAddr) UnmarshalFlag(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		*a = ""
		return nil
	}
	if strings.Trim(s, "0123456789") == "" {
		s = net.JoinHostPort("127.0.0.1", s)
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return fmt.Errorf("%q is not a host:port or a port number, such as 127.0.0.1:8334 or 8334", s)
	}
	if err := checkAddr(s, true); err != nil {
		return err
	}
	*a = webAddr(s)
	return nil
}

// checkWeb checks --web: it shares the RPC server's credentials, so it
// needs the RPC server, and, off loopback, a user and password.
func (c *config) checkWeb() error {
	a := string(c.RPC.Web)
	switch {
	case a == "":
		return nil
	case c.RPC.NoRPC || c.Debug.NoWire:
		return errors.New("--web needs the RPC server, whose credentials it uses: drop --norpc (and --nowire)")
	case !isLoopbackHost(listenHost(a)) && c.RPC.RPCUser == "":
		return fmt.Errorf("--web=%s is not loopback: set --rpcuser and --rpcpass to expose the live page", a)
	case !isLoopbackHost(listenHost(a)):
		c.warnings = append(c.warnings, fmt.Sprintf("--web=%s is not loopback: the live page is reachable from the network, over plain HTTP (its password is not encrypted)", a))
	}
	return nil
}

// startWeb binds the live page's listener, checking credentials as srv
// does; it reports its own errors.
func (d daemon) startWeb(cfg *config, admin *node.Admin, srv *rpcserver.Server, log btclog.Logger) (*web.Server, error) {
	ws, err := web.New(web.Config{
		Listen:  string(cfg.RPC.Web),
		Source:  admin,
		Auth:    func(w http.ResponseWriter, r *http.Request) bool { return srv.Authenticate(w, r, "peerd") },
		Network: cfg.params.Name,
	})
	if err != nil {
		log.Criticalf("Cannot start the live page: %v", err)
		d.fail(fmt.Errorf("live page (--web): %v", err))
		return nil, err
	}
	how := "user --rpcuser, password --rpcpass"
	if p := srv.CookiePath(); p != "" {
		how = fmt.Sprintf("user %s, password from %s", rpcserver.CookieUser, p)
	}
	log.Infof("Live page on http://%s/ (%s)", ws.Addr(), how)
	return ws, nil
}
