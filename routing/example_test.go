package routing_test

import (
	"fmt"

	"github.com/sluice-gw/sluice/routing"
)

func ExampleTable_Lookup() {
	table, err := routing.Build([]routing.Spec{
		{Name: "orders", Host: "api.example.com", PathTemplate: "/users/{id}/orders", Methods: []string{"GET"}, Target: "orders-svc"},
		{Name: "api", Host: "api.example.com", PathPrefix: "/v1", Rewrite: routing.RewriteSpec{StripPrefix: true}, Target: "api-svc"},
		{Name: "site", PathPrefix: "/", Target: "web"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var m routing.Match // one per connection, reused
	up := make([]byte, 0, 256)
	for _, p := range []string{"/users/42/orders", "/v1//items/./7", "/users/42/orders/../../..", "/public/%2e%2e/admin"} {
		ok, err := table.Lookup(&m, []byte("API.example.com:443"), []byte("GET"), []byte(p), nil, nil)
		switch {
		case err != nil:
			fmt.Printf("%s -> 400 (%v)\n", p, err)
		case !ok:
			fmt.Printf("%s -> 404\n", p)
		default:
			id, _ := m.Param("id")
			up = m.AppendUpstreamPath(up[:0])
			fmt.Printf("%s -> %s (%v) upstream %s id=%q\n", p, m.Route().Name(), m.Route().Target(), up, id)
		}
	}
	// Output:
	// /users/42/orders -> orders (orders-svc) upstream /users/42/orders id="42"
	// /v1//items/./7 -> api (api-svc) upstream /items/7 id=""
	// /users/42/orders/../../.. -> site (web) upstream / id=""
	// /public/%2e%2e/admin -> 400 (routing: percent-encoded dot-segment in path)
}
