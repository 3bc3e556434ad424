// Package proxy is the sans-IO core of one downstream connection: it parses requests, routes
// them, asks its driver for an upstream connection, streams the request and the response in every
// framing, and decides reuse, errors and timeouts.
//
// A Session never touches a socket. Its driver (the event-loop handler in package gateway, or a
// test) feeds it events (OnClientData, OnUpstreamData, OnUpstreamReady, ...) and carries out what
// it asks through the IO interface. Every call happens on one goroutine (the owning loop), so a
// Session holds no locks.
package proxy
