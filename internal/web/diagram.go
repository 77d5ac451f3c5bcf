package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"

	"github.com/peerd/peerd/internal/fsm"
)

// The diagram is drawn here, from the machine's own fsm.Spec (the data
// internal/diagrams renders docs/state-machines.md from), as inline SVG:
// a layered layout, left to right at the top level and top to bottom
// inside a composed state, with the inner machine drawn inside its box.
// Each state carries its path (data-state) and each edge an id
// (data-edge), which the page's script fills with counts.

// Box sizes and gaps, in SVG units.
const (
	stateH     = 48  // a simple state's height
	stateMinW  = 120 // and least width
	charW      = 7.2 // a label character's width, roughly
	layerGap   = 120 // between layers: room for edge labels
	rowGap     = 44  // between states of a layer
	pad        = 14  // inside a composed state
	headH      = 34  // a composed state's title bar
	startR     = 6   // the initial marker's radius
	startSpace = 30  // room for the initial marker before the first layer
	margin     = 10
	labelLineH = 14
)

// diagram is a laid-out machine: its SVG and the edge ids by key.
type diagram struct {
	SVG template.HTML
	// edges maps "from|to|on" (state paths) to an edge id; an inner
	// machine's entry (from the composed state to its initial state) is
	// keyed "from|to|" as well, whatever its event.
	edges map[string]string
}

// vertex is a laid-out state.
type vertex struct {
	path, label string
	final       bool
	x, y, w, h  float64 // relative to the enclosing graph until placed
	inner       *graph
}

// graph is a laid-out machine.
type graph struct {
	spec     *fsm.Spec
	prefix   string
	vertical bool
	nodes    map[fsm.State]*vertex
	order    []fsm.State
	w, h     float64
	x0, y0   float64 // the absolute origin, once placed
}

func joinPath(prefix string, s fsm.State) string {
	if prefix == "" {
		return string(s)
	}
	return prefix + "/" + string(s)
}

// layers ranks the states by the longest path from the initial state,
// ignoring the edges that close a cycle.
func layers(s *fsm.Spec) map[fsm.State]int {
	out := make(map[fsm.State][]fsm.State)
	for _, e := range s.Edges {
		out[e.From] = append(out[e.From], e.To)
	}
	// Depth-first search marks back edges.
	back := make(map[[2]fsm.State]bool)
	state := make(map[fsm.State]int) // 1 on the stack, 2 done
	var visit func(fsm.State)
	visit = func(v fsm.State) {
		state[v] = 1
		for _, w := range out[v] {
			switch state[w] {
			case 0:
				visit(w)
			case 1:
				back[[2]fsm.State{v, w}] = true
			}
		}
		state[v] = 2
	}
	visit(s.Initial)
	for _, st := range s.States {
		if state[st] == 0 {
			visit(st)
		}
	}
	rank := make(map[fsm.State]int, len(s.States))
	for range s.States { // relax: the longest path has fewer edges than states
		changed := false
		for _, e := range s.Edges {
			if back[[2]fsm.State{e.From, e.To}] || e.From == e.To {
				continue
			}
			if r := rank[e.From] + 1; r > rank[e.To] {
				rank[e.To], changed = r, true
			}
		}
		if !changed {
			break
		}
	}
	return rank
}

// layout lays out spec, whose states' paths start with prefix.
func layout(spec *fsm.Spec, prefix string, vertical bool) *graph {
	g := &graph{spec: spec, prefix: prefix, vertical: vertical, nodes: make(map[fsm.State]*vertex), order: spec.States}
	for _, st := range spec.States {
		n := &vertex{path: joinPath(prefix, st), label: string(st), final: spec.IsFinal(st)}
		if in, ok := spec.Inner[st]; ok {
			n.inner = layout(in, n.path, !vertical)
			n.w = max(n.inner.w+2*pad, float64(len(n.label))*charW+60)
			n.h = n.inner.h + 2*pad + headH
		} else {
			n.w = max(stateMinW, float64(len(n.label))*charW+56)
			n.h = stateH
		}
		g.nodes[st] = n
	}
	rank := layers(spec)
	nl := 0
	for _, r := range rank {
		nl = max(nl, r+1)
	}
	byLayer := make([][]*vertex, nl)
	for _, st := range spec.States {
		byLayer[rank[st]] = append(byLayer[rank[st]], g.nodes[st])
	}
	// along: the layers' direction; across: within a layer. Each layer
	// is centred on one line: its middle state, or the gap between its
	// two middle states, so that an edge between two single states passes
	// between the states of a layer in between.
	along := float64(startSpace)
	thick := make([]float64, len(byLayer))
	pos := make([][]float64, len(byLayer)) // across, relative to the line
	lo, hi := 0.0, 0.0
	for i, ns := range byLayer {
		var at []float64
		a, anchor := 0.0, 0.0
		for j, n := range ns {
			l, c := n.w, n.h
			if vertical {
				l, c = n.h, n.w
			}
			thick[i] = max(thick[i], l)
			if j > 0 {
				if j == len(ns)/2 && len(ns)%2 == 0 {
					anchor = a + rowGap/2
				}
				a += rowGap
			}
			if j == len(ns)/2 && len(ns)%2 == 1 {
				anchor = a + c/2
			}
			at = append(at, a)
			a += c
		}
		for j := range at {
			at[j] -= anchor
		}
		pos[i] = at
		if len(ns) > 0 {
			lo, hi = min(lo, at[0]), max(hi, a-anchor)
		}
	}
	span := hi - lo
	for i, ns := range byLayer {
		for j, n := range ns {
			l := n.w
			if vertical {
				l = n.h
			}
			a, b := along+(thick[i]-l)/2, pos[i][j]-lo
			if vertical {
				n.x, n.y = b, a
			} else {
				n.x, n.y = a, b
			}
		}
		along += thick[i]
		if i < len(byLayer)-1 {
			along += layerGap
		}
	}
	if vertical {
		g.w, g.h = span, along
	} else {
		g.w, g.h = along, span
	}
	return g
}

// place makes the graph's coordinates absolute, at offset (ox, oy).
func (g *graph) place(ox, oy float64) {
	g.x0, g.y0 = ox, oy
	for _, st := range g.order {
		n := g.nodes[st]
		n.x += ox
		n.y += oy
		if n.inner != nil {
			n.inner.place(n.x+(n.w-n.inner.w)/2, n.y+headH+pad)
		}
	}
}

// border is where the segment from the centre of n towards (tx, ty)
// leaves n's box.
func (n *vertex) border(tx, ty float64) (float64, float64) {
	cx, cy := n.x+n.w/2, n.y+n.h/2
	dx, dy := tx-cx, ty-cy
	if dx == 0 && dy == 0 {
		return cx, cy
	}
	s := math.Inf(1)
	if dx != 0 {
		s = math.Min(s, (n.w/2)/math.Abs(dx))
	}
	if dy != 0 {
		s = math.Min(s, (n.h/2)/math.Abs(dy))
	}
	return cx + dx*s, cy + dy*s
}

// svgWriter accumulates the SVG and the edge ids.
type svgWriter struct {
	b     strings.Builder
	edges map[string]string
	next  int
	taken []box // the simple states and the labels placed so far
}

type box struct{ x0, y0, x1, y1 float64 }

func (a box) overlaps(b box) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

// labelAt places the labels of es on the curve from (x1, y1) through
// control point (cx, cy) to (x2, y2): at its middle if that is free,
// else at the first point along it where the label overlaps no state and
// no other label (the middle if none is).
func (w *svgWriter) labelAt(es []fsm.Edge, x1, y1, cx, cy, x2, y2 float64) (float64, float64) {
	width := 0.0
	for _, e := range es {
		width = max(width, float64(len(e.On)+3)*5.6)
	}
	height := float64(len(es)) * labelLineH
	at := func(t float64) (float64, float64) {
		u := 1 - t
		return u*u*x1 + 2*u*t*cx + t*t*x2, u*u*y1 + 2*u*t*cy + t*t*y2
	}
	for _, t := range []float64{0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75} {
		x, y := at(t)
		b := box{x - width/2, y - height/2, x + width/2, y + height/2}
		free := true
		for _, o := range w.taken {
			if b.overlaps(o) {
				free = false
				break
			}
		}
		if free {
			w.taken = append(w.taken, b)
			return x, y
		}
	}
	x, y := at(0.5)
	w.taken = append(w.taken, box{x - width/2, y - height/2, x + width/2, y + height/2})
	return x, y
}

// takeStates records the simple states' boxes, which labels avoid.
func (w *svgWriter) takeStates(g *graph) {
	for _, st := range g.order {
		n := g.nodes[st]
		if n.inner != nil {
			w.takeStates(n.inner)
			// and the composed state's title bar
			w.taken = append(w.taken, box{n.x, n.y, n.x + n.w, n.y + headH})
			continue
		}
		w.taken = append(w.taken, box{n.x - 2, n.y - 2, n.x + n.w + 2, n.y + n.h + 2})
	}
}

func (w *svgWriter) edgeID(key string) string {
	id := fmt.Sprintf("e%d", w.next)
	w.next++
	w.edges[key] = id
	return id
}

var esc = html.EscapeString

// drawDiagram lays out spec and renders it.
func drawDiagram(spec *fsm.Spec) diagram {
	g := layout(spec, "", false)
	g.place(margin, margin)
	w := &svgWriter{edges: make(map[string]string)}
	fmt.Fprintf(&w.b, `<svg class="machine" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s state machine">`,
		g.w+2*margin, g.h+2*margin, g.w+2*margin, g.h+2*margin, esc(spec.Name))
	w.b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>`)
	w.states(g)
	w.takeStates(g)
	w.transitions(g)
	w.b.WriteString(`</svg>`)
	return diagram{SVG: template.HTML(w.b.String()), edges: w.edges}
}

// states draws the boxes, outer ones first so that inner ones lie on top.
func (w *svgWriter) states(g *graph) {
	for _, st := range g.order {
		n := g.nodes[st]
		cls := "state"
		if n.final {
			cls += " final"
		}
		if n.inner != nil {
			cls += " composed"
		}
		fmt.Fprintf(&w.b, `<g class="%s" data-state="%s"><title>%s</title>`, cls, esc(n.path), esc(n.path+noteOf(g.spec, st)))
		fmt.Fprintf(&w.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8"/>`, n.x, n.y, n.w, n.h)
		if n.final {
			fmt.Fprintf(&w.b, `<rect class="inner-border" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6"/>`, n.x+3, n.y+3, n.w-6, n.h-6)
		}
		if n.inner != nil {
			fmt.Fprintf(&w.b, `<text class="name" x="%.1f" y="%.1f">%s</text>`, n.x+10, n.y+21, esc(n.label))
			fmt.Fprintf(&w.b, `<text class="count" x="%.1f" y="%.1f" text-anchor="end" data-count="%s">0</text>`, n.x+n.w-10, n.y+21, esc(n.path))
			fmt.Fprintf(&w.b, `</g>`)
			w.states(n.inner)
			continue
		}
		fmt.Fprintf(&w.b, `<text class="name" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, n.x+n.w/2, n.y+20, esc(n.label))
		fmt.Fprintf(&w.b, `<text class="count" x="%.1f" y="%.1f" text-anchor="middle" data-count="%s">0</text>`, n.x+n.w/2, n.y+38, esc(n.path))
		w.b.WriteString(`</g>`)
	}
}

func noteOf(s *fsm.Spec, st fsm.State) string {
	if n := s.Notes[st]; n != "" {
		return ": " + n
	}
	return ""
}

// transitions draws the initial marker and the edges of g and of its
// inner machines. Edges between the same two states share one arrow and
// stack their labels.
func (w *svgWriter) transitions(g *graph) {
	if init, ok := g.nodes[g.spec.Initial]; ok {
		var sx, sy float64
		if g.vertical {
			sx, sy = init.x+init.w/2, init.y-startSpace+startR
		} else {
			sx, sy = init.x-startSpace+startR, init.y+init.h/2
		}
		ex, ey := init.border(sx, sy)
		id := w.edgeID(g.prefix + "|" + init.path + "|")
		fmt.Fprintf(&w.b, `<g class="edge start" data-edge="%s"><circle cx="%.1f" cy="%.1f" r="%d"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" marker-end="url(#arrow)"/>`,
			id, sx, sy, startR, sx, sy, ex, ey)
		fmt.Fprintf(&w.b, `<text class="elabel" x="%.1f" y="%.1f"><tspan class="n" data-edge-count="%s"></tspan></text></g>`, sx+8, sy-8, id)
	}
	type pair struct{ from, to fsm.State }
	var pairs []pair
	groups := make(map[pair][]fsm.Edge)
	for _, e := range g.spec.Edges {
		p := pair{e.From, e.To}
		if _, ok := groups[p]; !ok {
			pairs = append(pairs, p)
		}
		groups[p] = append(groups[p], e)
	}
	for _, p := range pairs {
		a, b := g.nodes[p.from], g.nodes[p.to]
		if a == nil || b == nil {
			continue
		}
		es := groups[p]
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = w.edgeID(a.path + "|" + b.path + "|" + e.On)
		}
		fmt.Fprintf(&w.b, `<g class="edge" data-edge="%s">`, strings.Join(ids, " "))
		var x1, y1, x2, y2 float64
		if p.from == p.to { // a loop: a small arc on the right
			x1, y1 = a.x+a.w, a.y+a.h/3
			x2, y2 = a.x+a.w, a.y+2*a.h/3
			fmt.Fprintf(&w.b, `<path d="M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" marker-end="url(#arrow)"/>`,
				x1, y1, x1+40, y1-10, x2+40, y2+10, x2, y2)
			x1, y1 = x1+44, a.y+a.h/2
		} else {
			var cx, cy float64
			var curved bool
			x1, y1, x2, y2, cx, cy, curved = g.route(a, b)
			if !curved {
				cx, cy = (x1+x2)/2, (y1+y2)/2
				fmt.Fprintf(&w.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" marker-end="url(#arrow)"/>`, x1, y1, x2, y2)
			} else {
				fmt.Fprintf(&w.b, `<path d="M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f" marker-end="url(#arrow)"/>`, x1, y1, cx, cy, x2, y2)
			}
			x1, y1 = w.labelAt(es, x1, y1, cx, cy, x2, y2)
		}
		top := y1 - float64(len(es))*labelLineH/2 + labelLineH - 3
		fmt.Fprintf(&w.b, `<text class="elabel" x="%.1f" y="%.1f" text-anchor="middle">`, x1, top)
		for i, e := range es {
			fmt.Fprintf(&w.b, `<tspan x="%.1f" dy="%d" data-edge-label="%s">%s <tspan class="n" data-edge-count="%s"></tspan></tspan>`,
				x1, map[bool]int{true: 0, false: labelLineH}[i == 0], ids[i], esc(e.On), ids[i])
		}
		w.b.WriteString(`</text></g>`)
	}
	for _, st := range g.order {
		if n := g.nodes[st]; n.inner != nil {
			w.transitions(n.inner)
		}
	}
}

// route draws an edge from a to b: straight when that line crosses no
// other state of the machine, else a quadratic curve bent sideways
// around them (control point c).
func (g *graph) route(a, b *vertex) (x1, y1, x2, y2, cx, cy float64, curved bool) {
	ax, ay := a.x+a.w/2, a.y+a.h/2
	bx, by := b.x+b.w/2, b.y+b.h/2
	var obstacles []*vertex
	for _, st := range g.order {
		if n := g.nodes[st]; n != a && n != b {
			obstacles = append(obstacles, n)
		}
	}
	clear := func(pts [][2]float64) bool {
		for _, p := range pts { // inner machines stay inside their box
			if g.prefix != "" && (p[0] < g.x0-pad+4 || p[0] > g.x0+g.w+pad-4 || p[1] < g.y0-4 || p[1] > g.y0+g.h+pad-4) {
				return false
			}
		}
		for i := 1; i < len(pts); i++ {
			for _, o := range obstacles {
				if segmentHitsBox(pts[i-1], pts[i], o.x-6, o.y-6, o.x+o.w+6, o.y+o.h+6) {
					return false
				}
			}
		}
		return true
	}
	x1, y1 = a.border(bx, by)
	x2, y2 = b.border(ax, ay)
	if clear([][2]float64{{x1, y1}, {x2, y2}}) {
		return x1, y1, x2, y2, 0, 0, false
	}
	mx, my := (ax+bx)/2, (ay+by)/2
	dx, dy := bx-ax, by-ay
	l := math.Hypot(dx, dy)
	px, py := -dy/l, dx/l
	for k := 1; k <= 14; k++ {
		for _, sign := range []float64{1, -1} {
			off := sign * float64(k) * 45
			cx, cy = mx+px*off, my+py*off
			x1, y1 = a.border(cx, cy)
			x2, y2 = b.border(cx, cy)
			var pts [][2]float64
			for i := 0; i <= 16; i++ {
				t := float64(i) / 16
				u := 1 - t
				pts = append(pts, [2]float64{u*u*x1 + 2*u*t*cx + t*t*x2, u*u*y1 + 2*u*t*cy + t*t*y2})
			}
			if clear(pts) {
				return x1, y1, x2, y2, cx, cy, true
			}
		}
	}
	x1, y1 = a.border(bx, by)
	x2, y2 = b.border(ax, ay)
	return x1, y1, x2, y2, 0, 0, false
}

// segmentHitsBox reports whether the segment p-q meets the box (Liang-Barsky).
func segmentHitsBox(p, q [2]float64, x0, y0, x1, y1 float64) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := q[0]-p[0], q[1]-p[1]
	for _, c := range [][2]float64{{-dx, p[0] - x0}, {dx, x1 - p[0]}, {-dy, p[1] - y0}, {dy, y1 - p[1]}} {
		pp, qq := c[0], c[1]
		if pp == 0 {
			if qq < 0 {
				return false
			}
			continue
		}
		r := qq / pp
		if pp < 0 {
			t0 = max(t0, r)
		} else {
			t1 = min(t1, r)
		}
		if t0 > t1 {
			return false
		}
	}
	return true
}
