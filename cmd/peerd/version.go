package main

import (
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/wire/v2"
)

// appName is the program's name: in the user agent, log and error lines.
const appName = "peerd"

// version is peerd's version, as announced in the user agent.
const version = "0.1.0"

// maxUserAgentLen bounds the whole user agent, comments included, as Core's
// MAX_SUBVERSION_LENGTH does.
const maxUserAgentLen = wire.MaxUserAgentLen // 256

// userAgent returns peerd's BIP 14 user agent with the given comments, as
// Core formats its own: "/peerd:0.1.0/" without comments,
// "/peerd:0.1.0(c1; c2)/" with them.
func userAgent(comments ...string) string {
	if len(comments) == 0 {
		return fmt.Sprintf("/%s:%s/", appName, version)
	}
	return fmt.Sprintf("/%s:%s(%s)/", appName, version, strings.Join(comments, "; "))
}
