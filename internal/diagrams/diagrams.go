// Package diagrams renders the state diagrams in docs/ from the machines'
// own Specs. The test in this package fails when a committed diagram
// differs from what the code declares; `go test ./internal/diagrams -update`
// rewrites them.
package diagrams

import (
	"fmt"
	"strings"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/debugproto"
	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/peer"
)

// Diagram is one machine's page section.
type Diagram struct {
	Title string
	About string
	Spec  *fsm.Spec
	// File is the base name of its Graphviz source and rendered SVG in
	// docs/diagrams/.
	File string
}

// All lists the machines drawn in docs/state-machines.md, outermost first.
func All() []Diagram {
	return []Diagram{
		{
			Title: "Wire peer",
			About: "Every connection runs this machine. The handshake is a composed state: " +
				"its inner machine (below) runs while the peer is in `handshake`, and when it " +
				"ends the peer evaluates the event it ended on (`done` leads to `standby`, `failed` " +
				"to `disconnected`).",
			Spec: peer.Spec,
			File: "peer",
		},
		{
			Title: "Debug session (telnet)",
			About: "The seed's textual protocol (package internal/debugproto), the node's debug mode. " +
				"`A` is a composed state: its inner machine starts in `innerA`; when it reaches " +
				"`innerEnd`, the outer machine evaluates the line it ended on (`PING` replies `PONG`).",
			Spec: debugproto.Spec,
			File: "debug-session",
		},
		{
			Title: "Handshake",
			About: "The version/verack machine (package handshake), for both directions. " +
				"Messages that do not move it are ignored, as Bitcoin Core ignores them: " +
				"anything before the peer's version, and anything but wtxidrelay, sendaddrv2 " +
				"and verack before its verack.",
			Spec: handshake.Spec,
			File: "handshake",
		},
	}
}

// Page renders docs/state-machines.md.
func Page() string {
	var b strings.Builder
	b.WriteString("# State machines\n\n")
	b.WriteString("<!-- Generated from the machines' Specs by internal/diagrams; do not edit.\n")
	b.WriteString("     Regenerate with: go test ./internal/diagrams -update -->\n\n")
	b.WriteString("Each diagram is drawn from the `fsm.Spec` that its machine declares. The engine\n")
	b.WriteString("refuses any transition a Spec does not declare (`fsm.Core.Become` panics and the\n")
	b.WriteString("peer is dropped), so these are the transitions the code can take, and a test\n")
	b.WriteString("fails when this page and the code disagree.\n")
	for _, d := range All() {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n```mermaid\n%s```\n", d.Title, d.About, fsm.Mermaid(d.Spec))
		fmt.Fprintf(&b, "\nGraphviz: [diagrams/%s.dot](diagrams/%s.dot), rendered as [diagrams/%s.svg](diagrams/%s.svg).\n", d.File, d.File, d.File, d.File)
		b.WriteString("\n| from | to | on |\n|---|---|---|\n")
		writeEdges(&b, d.Spec, "")
	}
	return b.String()
}

func writeEdges(b *strings.Builder, s *fsm.Spec, prefix string) {
	for _, e := range s.Edges {
		fmt.Fprintf(b, "| %s%s | %s%s | %s |\n", prefix, e.From, prefix, e.To, e.On)
	}
	for _, st := range s.States {
		if in, ok := s.Inner[st]; ok {
			writeEdges(b, in, prefix+string(st)+"/")
		}
	}
}
