// Package enginetest is the conformance suite every engine backend passes: the behaviours of
// engine.Conn, engine.Loop and engine.Server that the gateway relies on, exercised over
// loopback sockets. A backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		enginetest.Run(t, func(t *testing.T, h engine.Handler, addrs []string, o engine.Options) engine.Server {
//			s, err := mybackend.Start(h, addrs, o)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Optional capabilities (PauseRead, StopAccepting) are skipped with a message when the backend
// reports engine.ErrNotSupported; everything else is required.
package enginetest
