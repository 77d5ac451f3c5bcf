#!/usr/bin/env bash
# render-diagrams.sh: regenerates docs/diagrams/*.dot (and the Mermaid page)
# from the machines' Specs, then renders each .dot to .svg with Graphviz
# (Debian package graphviz; installed here when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./internal/diagrams -update >/dev/null
if ! command -v dot >/dev/null; then
	if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
	else
		echo "render-diagrams: Graphviz's dot is missing (apt-get install graphviz)" >&2
		exit 1
	fi
fi
for f in docs/diagrams/*.dot; do
	dot -Tsvg "$f" -o "${f%.dot}.svg"
	echo "rendered ${f%.dot}.svg"
done
