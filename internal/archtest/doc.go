// Package archtest holds the tests that keep peerd's shape: the pure
// packages stay pure (no network, no files, no clock, no goroutines),
// imports point only downward through the layers of docs/architecture.md,
// and that page's package diagram is the one the code has. It has no code
// of its own.
package archtest
