// Package routing owns the route table: it normalizes request paths, matches
// a request's host, path, method, headers and query against compiled routes
// without allocating, and derives the path sent upstream.
//
// # Precedence
//
// Build compiles a []Spec into a Table; Table.Lookup orders the candidate
// routes for a request and returns the first whose every condition holds:
//
//  1. Host: routes for the exact host, then wildcard hosts with the longer
//     suffix first ("*.b.example.com" before "*.example.com"), then routes
//     for any host.
//  2. Within one host: an exact Path, then templates (more literal segments
//     first; at equal count, templates without a final "{rest...}" first),
//     then prefixes, longest first.
//  3. Between routes with the same host and path: more conditions first (a
//     method list counts as one, each header and query match as one).
//  4. Then declaration order. Build refuses a route identical in host, path
//     and conditions to an earlier one, since it could never match.
//
// A candidate whose method, header or query conditions fail does not end the
// search: Lookup falls back to the next candidate in this order, across path
// kinds and host tiers. A GET-only "/login" route and a "/" prefix
// catch-all send POST /login to the catch-all; a host with no matching route
// falls back to routes for any host.
//
// Lookup's cost does not grow with the number of routes: hosts are map
// lookups (one per label for wildcards), exact and prefix paths share a
// radix tree over the path bytes, and templates a trie over segments whose
// literal edges are map lookups.
//
// # Paths
//
// The router matches the normalized path (see Normalize): unreserved
// characters decoded, other escapes in upper-case hex, duplicate slashes
// merged, dot-segments removed; encoded slashes, encoded dot-segments, NUL,
// backslashes, invalid escapes or UTF-8 and climbs above the root are
// refused with an error meaning 400. Route paths are normalized the same way
// at Build time.
//
// The gateway sends upstream the normalized path, with the route's
// RewriteSpec applied (Match.AppendUpstreamPath), followed by '?' and the raw
// query exactly as received when the request had one. Sending the
// normalized path, never the raw one, is what makes the router's decision
// and the upstream's interpretation agree: a path the router saw as
// "/public/x" cannot be read upstream as "/admin".
package routing
