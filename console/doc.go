// Package console is Sluice's live operations console: a bubbletea terminal UI that attaches
// to a gateway's admin API (and only to it), shows the header, routes, upstream targets, a
// sampled request tail and events, and drives the operator actions. Model is driven by
// messages, so tests run it without a terminal.
package console
