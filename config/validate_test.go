package config

import (
	"fmt"
	"strings"
	"testing"
)

// base is a valid configuration; cases append sections or replace lines.
const base = `listen:
  - address: 127.0.0.1:8080
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
routes:
  - match: { path_prefix: / }
    upstream: users
`

// posOf returns the 1-based line and column of the n-th (from 1) occurrence
// of marker in src (moved to the '|' in marker, if any), so the cases below state where an error must point
// without counting lines by hand.
func posOf(t *testing.T, src, marker string, n int) (int, int) {
	t.Helper()
	shift := strings.IndexByte(marker, '|')
	if shift < 0 {
		shift = 0
	} else {
		marker = marker[:shift] + marker[shift+1:]
	}
	off := -1
	for i := 0; i < n; i++ {
		j := strings.Index(src[off+1:], marker)
		if j < 0 {
			t.Fatalf("marker %q (occurrence %d) not in source:\n%s", marker, n, src)
		}
		off += 1 + j
	}
	off += shift
	line := 1 + strings.Count(src[:off], "\n")
	col := off - strings.LastIndex(src[:off], "\n")
	return line, col
}

type errorCase struct {
	name string
	src  string
	at   string // the error points at the first occurrence of this text...
	nth  int    // ...or at its nth occurrence
	path string // the schema path the error names
	msg  string // a fragment of the message
}

func runErrorCases(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := parseErrors(t, tc.src)
			n := tc.nth
			if n == 0 {
				n = 1
			}
			line, col := posOf(t, tc.src, tc.at, n)
			prefix := fmt.Sprintf("t.yaml:%d:%d: %s: ", line, col, tc.path)
			if len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) || !strings.Contains(lines[0], tc.msg) {
				t.Errorf("errors:\n  %s\nwant exactly one starting %q containing %q", strings.Join(lines, "\n  "), prefix, tc.msg)
			}
		})
	}
}

func TestTopLevelErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"UnknownFieldSuggestsNearest", base + "shutdown_timout: 5s\n", "shutdown_timout", 0, "shutdown_timout", `unknown field "shutdown_timout" (did you mean "shutdown_timeout"?)`},
		{"UnknownFieldWithoutNearMatch", base + "frobnicate: 1\n", "frobnicate", 0, "frobnicate", `unknown field "frobnicate"`},
		{"DuplicateSection", base + "engine: gnet\nengine: epoll\n", "engine", 2, "engine", `duplicate field "engine" (first set on line 10)`},
		{"MissingListen", strings.Replace(base, "listen:\n  - address: 127.0.0.1:8080\n", "", 1), "upstreams", 0, "listen", `missing required section "listen"`},
		{"EngineEnumSuggests", base + "engine: epol\n", "epol", 0, "engine", `invalid value "epol" (did you mean "epoll"?`},
		{"LoopsNegative", base + "loops: -1\n", "-1", 0, "loops", "-1 is out of range [0, 1024]"},
		{"LoopsNotANumber", base + "loops: four\n", "four", 0, "loops", `expected a whole number, got "four"`},
		{"LoopsQuotedNumberIsAString", base + "loops: \"4\"\n", "\"4\"", 0, "loops", `expected a whole number, got "4"`},
		{"ShutdownTimeoutNegative", base + "shutdown_timeout: -1s\n", "-1s", 0, "shutdown_timeout", "must not be negative"},
		{"ShutdownTimeoutZero", base + "shutdown_timeout: 0s\n", "0s", 0, "shutdown_timeout", "must be greater than 0"},
		{"SectionOfWrongKind", base + "http: [1, 2]\n", "[1, 2]", 0, "http", "expected a mapping of fields, got a list"},
		{"MergeKeyRejected", base + "http:\n  <<: { via: a }\n", "<<", 0, "http", "merge keys (<<) are not supported"},
		{"AccessLogFormat", base + "access_log:\n  format: jsonl\n", "jsonl", 0, "access_log.format", `invalid value "jsonl" (did you mean "json"?`},
	})
}

func TestListenErrors(t *testing.T) {
	l := func(items string) string {
		return strings.Replace(base, "listen:\n  - address: 127.0.0.1:8080\n", "listen:\n"+items, 1)
	}
	runErrorCases(t, []errorCase{
		{"NotAList", strings.Replace(base, "listen:\n  - address: 127.0.0.1:8080\n", "listen: 127.0.0.1:8080\n", 1), "127.0.0.1:8080", 0, "listen", "expected a list, got \"127.0.0.1:8080\""},
		{"Empty", strings.Replace(base, "listen:\n  - address: 127.0.0.1:8080\n", "listen: []\n", 1), "[]", 0, "listen", "at least one listener is required"},
		{"MissingPort", l("  - address: 127.0.0.1\n"), "127.0.0.1", 0, "listen[0].address", `missing port in address "127.0.0.1"`},
		{"PortOutOfRange", l("  - address: 127.0.0.1:99999\n"), "127.0.0.1:99999", 0, "listen[0].address", `invalid port "99999"`},
		{"PortNotNumeric", l("  - address: 127.0.0.1:http\n"), "127.0.0.1:http", 0, "listen[0].address", `invalid port "http"`},
		{"IPv6WithoutBrackets", l("  - address: \"::1\"\n"), "\"::1\"", 0, "listen[0].address", `IPv6 addresses go in brackets: "[::1]:8080"`},
		{"BadIPv4", l("  - address: 300.1.1.1:80\n"), "300.1.1.1:80", 0, "listen[0].address", `invalid IP address "300.1.1.1"`},
		{"DuplicateAddress", l("  - address: 127.0.0.1:8080\n  - address: 127.0.0.1:8080\n"), "127.0.0.1:8080", 2, "listen[1].address", `address "127.0.0.1:8080" overlaps listen[0] ("127.0.0.1:8080")`},
		{"WildcardOverlaps", l("  - address: 127.0.0.1:8080\n  - address: 0.0.0.0:8080\n"), "0.0.0.0:8080", 0, "listen[1].address", "overlaps listen[0]"},
		{"IPv6WildcardOverlaps", l("  - address: \"[::]:8080\"\n  - address: 10.0.0.1:8080\n"), "10.0.0.1:8080", 0, "listen[1].address", "overlaps listen[0]"},
		{"DuplicateName", l("  - {address: 127.0.0.1:8080, name: a}\n  - {address: 127.0.0.1:8081, name: a}\n"), "a}", 2, "listen[1].name", `name "a" is already used by listen[0]`},
		{"InvalidName", l("  - {address: 127.0.0.1:8080, name: pub lic}\n"), "pub lic", 0, "listen[0].name", `invalid name "pub lic"`},
		{"NameCollidesWithDefault", l("  - {address: 127.0.0.1:8080}\n  - {address: 127.0.0.1:8081, name: listen-0}\n"), "listen-0", 0, "listen[1].name", `name "listen-0" is the default name of listen[0]`},
		{"MissingAddress", l("  - name: public\n"), "name", 0, "listen[0].address", `missing required field "address"`},
		{"UnknownField", l("  - adress: 127.0.0.1:8080\n    address: 127.0.0.1:8080\n"), "adress", 0, "listen[0].adress", `unknown field "adress" (did you mean "address"?)`},
	})
}

func TestAdminErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"NonLoopbackNeedsToken", base + "admin:\n  address: 0.0.0.0:9901\n", "0.0.0.0:9901", 0, "admin.address", "is not loopback; set admin.token"},
		{"AllInterfacesNeedsToken", base + "admin:\n  address: \":9901\"\n", "\":9901\"", 0, "admin.address", "is not loopback"},
		{"BadAddress", base + "admin:\n  address: localhost\n", "localhost", 0, "admin.address", `missing port in address "localhost"`},
		{"OverlapsListener", base + "admin:\n  address: 127.0.0.1:8080\n", "127.0.0.1:8080", 2, "admin.address", `admin address "127.0.0.1:8080" overlaps listen[0]`},
		{"TokenCharset", base + "admin:\n  token: \"a b\"\n", "\"a b\"", 0, "admin.token", `invalid character ' ' in token`},
		{"TokenPaddingInside", base + "admin:\n  token: a=b\n", "a=b", 0, "admin.token", `invalid character '=' in token`},
		{"BadTokenIsNotAlsoReportedAsMissing", base + "admin:\n  address: 0.0.0.0:9901\n  token: \"a b\"\n", "\"a b\"", 0, "admin.token", `invalid character ' ' in token`},
	})
	for _, addr := range []string{"127.0.0.1:9901", "localhost:9901", "[::1]:9901", "127.0.0.2:0"} {
		mustParse(t, base+"admin:\n  address: \""+addr+"\"\n")
	}
	mustParse(t, base+"admin:\n  address: 0.0.0.0:9901\n  token: abc.DEF-123_~+/=\n")
}

func TestHTTPErrors(t *testing.T) {
	h := func(s string) string { return base + "http:\n  " + s + "\n" }
	runErrorCases(t, []errorCase{
		{"RequestLineTooSmall", h("max_request_line: 10"), "10", 0, "http.max_request_line", "size 10B is out of range [64B, 1MiB]"},
		{"HeaderBytesTooLarge", h("max_header_bytes: 1GiB"), "1GiB", 0, "http.max_header_bytes", "out of range [1KiB, 16MiB]"},
		{"MaxHeadersZero", h("max_headers: 0"), "max_headers: |0", 0, "http.max_headers", "0 is out of range [1, 10000]"},
		{"MaxBodyFraction", h("max_body: 1.5MiB"), "1.5MiB", 0, "http.max_body", "must be a whole number"},
		{"MaxBodyBadUnit", h("max_body: 1mb"), "1mb", 0, "http.max_body", `unknown size unit "mb"`},
		{"HeaderReadTimeoutZero", h("header_read_timeout: 0"), "header_read_timeout: |0", 0, "http.header_read_timeout", "must be greater than 0"},
		{"IdleTimeoutWithoutUnit", h("idle_timeout: 30"), "30", 0, "http.idle_timeout", `missing unit in duration "30"`},
		{"IdleTimeoutNull", h("idle_timeout:"), "idle_timeout", 0, "http.idle_timeout", "missing value (expected a duration"},
		{"MaxConnectionsNegative", h("max_connections: -5"), "-5", 0, "http.max_connections", "out of range"},
		{"TrustedProxyBadCIDR", h("trusted_proxies: [10.0.0.0/8, 10.0.0.0/33]"), "10.0.0.0/33", 0, "http.trusted_proxies[1]", `invalid CIDR "10.0.0.0/33"`},
		{"TrustedProxyHostBits", h("trusted_proxies: [10.1.2.3/8]"), "10.1.2.3/8", 0, "http.trusted_proxies[0]", `has host bits set (did you mean "10.0.0.0/8"?)`},
		{"TrustedProxyNotAList", h("trusted_proxies: 10.0.0.0/8"), "10.0.0.0/8", 0, "http.trusted_proxies", "expected a list"},
		{"ViaNotAToken", h("via: \"my proxy\""), "\"my proxy\"", 0, "http.via", `invalid character ' ' in Via pseudonym`},
		{"UnknownField", h("max_header: 10"), "max_header", 0, "http.max_header", `did you mean "max_headers"?`},
	})
}

func TestUpstreamErrors(t *testing.T) {
	u := func(body string) string {
		return strings.Replace(base, "  users:\n    targets:\n      - address: 127.0.0.1:9001\n", "  users:\n"+body, 1)
	}
	runErrorCases(t, []errorCase{
		{"TargetMissingPort", u("    targets:\n      - address: 127.0.0.1\n"), "127.0.0.1\n", 0, "upstreams.users.targets[0].address", `missing port in address "127.0.0.1"`},
		{"TargetPortZero", u("    targets:\n      - address: 127.0.0.1:0\n"), "127.0.0.1:0", 0, "upstreams.users.targets[0].address", "a target needs a real port"},
		{"TargetMissingHost", u("    targets:\n      - address: \":9001\"\n"), "\":9001\"", 0, "upstreams.users.targets[0].address", "missing host"},
		{"TargetBadHostname", u("    targets:\n      - address: bad_host:80\n"), "bad_host:80", 0, "upstreams.users.targets[0].address", `invalid character '_' in host name "bad_host"`},
		{"TargetDuplicate", u("    targets:\n      - address: 127.0.0.1:9001\n      - address: 127.0.0.1:9001\n"), "127.0.0.1:9001", 2, "upstreams.users.targets[1].address", "already listed as targets[0]"},
		{"TargetMissingAddress", u("    targets:\n      - weight: 2\n"), "weight", 0, "upstreams.users.targets[0].address", `missing required field "address"`},
		{"WeightZero", u("    targets:\n      - address: 127.0.0.1:9001\n        weight: 0\n"), "weight: |0", 0, "upstreams.users.targets[0].weight", "0 is out of range [1, 1000]"},
		{"WeightTooLarge", u("    targets:\n      - address: 127.0.0.1:9001\n        weight: 1001\n"), "1001", 0, "upstreams.users.targets[0].weight", "1001 is out of range [1, 1000]"},
		{"NoTargetsField", u("    balancer: random\n"), "balancer", 0, "upstreams.users.targets", `missing required field "targets"`},
		{"NoBodyAtAll", strings.Replace(base, "  users:\n    targets:\n      - address: 127.0.0.1:9001\n", "  users:\n", 1), "users", 0, "upstreams.users.targets", `missing required field "targets"`},
		{"EmptyTargets", u("    targets: []\n"), "[]", 0, "upstreams.users.targets", "at least one target is required"},
		{"BalancerEnum", u("    balancer: least_requests\n    targets: [{address: 127.0.0.1:9001}]\n"), "least_requests", 0, "upstreams.users.balancer", `did you mean "least_request"?`},
		{"HashKeyInvalid", u("    balancer: consistent_hash\n    hash_key: ip\n    targets: [{address: 127.0.0.1:9001}]\n"), "ip\n", 0, "upstreams.users.hash_key", `invalid hash_key "ip"`},
		{"HashKeyHeaderWithoutName", u("    balancer: consistent_hash\n    hash_key: \"header:\"\n    targets: [{address: 127.0.0.1:9001}]\n"), "\"header:\"", 0, "upstreams.users.hash_key", "needs a name"},
		{"HashKeyCookieBadName", u("    balancer: consistent_hash\n    hash_key: cookie:a;b\n    targets: [{address: 127.0.0.1:9001}]\n"), "cookie:a;b", 0, "upstreams.users.hash_key", "invalid character ';' in cookie name"},
		{"HashKeyWithoutConsistentHash", u("    hash_key: path\n    targets: [{address: 127.0.0.1:9001}]\n"), "path\n", 0, "upstreams.users.hash_key", "used only by balancer consistent_hash"},
		{"PoolMaxIdleAboveMaxConnections", u("    targets: [{address: 127.0.0.1:9001}]\n    pool: {max_connections: 4, max_idle: 8}\n"), "8}", 0, "upstreams.users.pool.max_idle", "max_idle 8 is above pool.max_connections 4"},
		{"PoolIdleTimeoutZero", u("    targets: [{address: 127.0.0.1:9001}]\n    pool: {idle_timeout: 0s}\n"), "0s", 0, "upstreams.users.pool.idle_timeout", "must be greater than 0"},
		{"RetriesTooMany", u("    targets: [{address: 127.0.0.1:9001}]\n    retries: 11\n"), "11", 0, "upstreams.users.retries", "11 is out of range [0, 10]"},
		{"ConnectTimeoutUnit", u("    targets: [{address: 127.0.0.1:9001}]\n    connect_timeout: 2secs\n"), "2secs", 0, "upstreams.users.connect_timeout", `invalid duration "2secs"`},
		{"BadNameReportedOnceNotAgainPerRoute", strings.Replace(strings.Replace(base, "  users:", "  Users:", 1), "upstream: users", "upstream: Users", 1), "Users", 0, "upstreams.Users", `invalid name "Users"`},
		{"DuplicateName", strings.Replace(base, "routes:", "  users:\n    targets: [{address: 127.0.0.1:9002}]\nroutes:", 1), "users:", 2, "upstreams.users", `duplicate key "users" (first set on line 4)`},
		{"NotAMapping", strings.Replace(base, "  users:\n    targets:\n      - address: 127.0.0.1:9001\n", "  - users\n", 1), "- users", 0, "upstreams", "expected a mapping, got a list"},
	})
}

func TestRouteErrors(t *testing.T) {
	r := func(routes string) string {
		return strings.Replace(base, "  - match: { path_prefix: / }\n    upstream: users\n", routes, 1)
	}
	runErrorCases(t, []errorCase{
		{"UnknownUpstreamSuggests", r("  - match: { path_prefix: / }\n    upstream: user\n"), "user\n", 0, "routes[0].upstream", `unknown upstream "user" (did you mean "users"?)`},
		{"UnknownUpstreamListsDefined", r("  - match: { path_prefix: / }\n    upstream: payments\n"), "payments", 0, "routes[0].upstream", `unknown upstream "payments" (defined: users)`},
		{"MissingUpstream", r("  - match: { path_prefix: / }\n"), "match", 0, "routes[0].upstream", `missing required field "upstream"`},
		{"NullUpstream", r("  - match: { path_prefix: / }\n    upstream:\n"), "upstream:", 0, "routes[0].upstream", "missing value (expected a string)"},
		{"MissingMatch", r("  - upstream: users\n"), "upstream: users", 0, "routes[0].match", `missing required field "match"`},
		{"Empty", r("  []\n"), "[]", 0, "routes", "at least one route is required"},
		{"TimeoutZero", r("  - match: { path_prefix: / }\n    upstream: users\n    timeout: 0s\n"), "0s", 0, "routes[0].timeout", "must be greater than 0"},
		{"StripPrefixNotAPrefix", r("  - match: { path_prefix: /users/ }\n    upstream: users\n    strip_prefix: /api\n"), "/api", 0, "routes[0].strip_prefix", `"/api" is not a prefix of path_prefix "/users/"`},
		{"StripPrefixNotAPrefixOfTemplate", r("  - match: { path_template: \"/u/{id}\" }\n    upstream: users\n    strip_prefix: /users\n"), "/users", 0, "routes[0].strip_prefix", "not a prefix of the literal start of path_template \"/u/\""},
		{"StripAndRewrite", r("  - match: { path_prefix: /users/ }\n    upstream: users\n    strip_prefix: /users\n    rewrite: /v2\n"), "/v2", 0, "routes[0].rewrite", "set at most one of strip_prefix and rewrite"},
		{"RewriteRelative", r("  - match: { path_prefix: / }\n    upstream: users\n    rewrite: v2\n"), "v2", 0, "routes[0].rewrite", `path "v2" must start with "/"`},
		{"MaxBodyBad", r("  - match: { path_prefix: / }\n    upstream: users\n    max_body: lots\n"), "lots", 0, "routes[0].max_body", `invalid size "lots"`},
		{"DuplicateName", r("  - {name: a, match: { path_prefix: / }, upstream: users}\n  - {name: a, match: { path: /x }, upstream: users}\n"), "a,", 2, "routes[1].name", `name "a" is already used by routes[0]`},
		{"NameCollidesWithDefault", r("  - {match: { path_prefix: / }, upstream: users}\n  - {name: route-0, match: { path: /x }, upstream: users}\n"), "route-0", 0, "routes[1].name", `name "route-0" is the default name of routes[0]`},
		{"UnknownField", r("  - match: { path_prefix: / }\n    upstream: users\n    strip_prefx: /\n"), "strip_prefx", 0, "routes[0].strip_prefx", `did you mean "strip_prefix"?`},
	})
}

func TestMatchErrors(t *testing.T) {
	m := func(match string) string {
		return strings.Replace(base, "  - match: { path_prefix: / }\n", "  - match: "+match+"\n", 1)
	}
	runErrorCases(t, []errorCase{
		{"NoPath", m("{ host: a.com }"), "{ host", 0, "routes[0].match", "set exactly one of path, path_prefix, path_template"},
		{"TwoPaths", m("{ path: /a, path_prefix: /b }"), "path_prefix", 0, "routes[0].match.path_prefix", "(path is also set)"},
		{"PathRelative", m("{ path: users }"), "users }", 0, "routes[0].match.path", `path "users" must start with "/"`},
		{"PathDotSegment", m("{ path_prefix: /a/../b }"), "/a/../b", 0, "routes[0].match.path_prefix", `must not contain ".." segments`},
		{"PathQuery", m("{ path: \"/a?b=c\" }"), "\"/a?b=c\"", 0, "routes[0].match.path", "must not contain '?'"},
		{"PathSpace", m("{ path: \"/a b\" }"), "\"/a b\"", 0, "routes[0].match.path", "percent-encode it"},
		{"PathBraces", m("{ path_prefix: \"/a{b}\" }"), "\"/a{b}\"", 0, "routes[0].match.path_prefix", "invalid character '{' in path"},
		{"PathBadPercent", m("{ path: /a%zz }"), "/a%zz", 0, "routes[0].match.path", "invalid percent-encoding"},
		{"TemplatePartialSegment", m("{ path_template: \"/files/{name}.json\" }"), "\"/files", 0, "routes[0].match.path_template", `segment "{name}.json" must be a whole variable`},
		{"TemplateBadVariable", m("{ path_template: \"/u/{1d}\" }"), "\"/u/", 0, "routes[0].match.path_template", `invalid variable name "1d"`},
		{"TemplateDuplicateVariable", m("{ path_template: \"/u/{id}/{id}\" }"), "\"/u/", 0, "routes[0].match.path_template", `variable "id" appears twice`},
		{"TemplateWithoutVariables", m("{ path_template: /u }"), "/u }", 0, "routes[0].match.path_template", "has no variables"},
		{"HostWildcardInMiddle", m("{ host: \"api.*.com\", path: / }"), "\"api.*.com\"", 0, "routes[0].match.host", "a wildcard is allowed only as the first label"},
		{"HostWithPort", m("{ host: \"a.com:8080\", path: / }"), "\"a.com:8080\"", 0, "routes[0].match.host", "must not include a port"},
		{"HostBadLabel", m("{ host: -a.com, path: / }"), "-a.com", 0, "routes[0].match.host", "must not start or end with '-'"},
		{"MethodLowerCase", m("{ path: /, methods: [GET, post] }"), "post", 0, "routes[0].match.methods[1]", `method "post" is case-sensitive and would never match POST`},
		{"MethodTwice", m("{ path: /, methods: [GET, GET] }"), "GET", 2, "routes[0].match.methods[1]", `method "GET" is listed twice`},
		{"MethodNotAToken", m("{ path: /, methods: [\"GE T\"] }"), "\"GE T\"", 0, "routes[0].match.methods[0]", "invalid character ' ' in method"},
		{"HeaderNameInvalid", m("{ path: /, headers: { \"X Tenant\": blue } }"), "\"X Tenant\"", 0, "routes[0].match.headers.X Tenant", "invalid character ' ' in header name"},
		{"HeaderNamesCaseInsensitive", m("{ path: /, headers: { X-A: a, x-a: b } }"), "x-a", 0, "routes[0].match.headers.x-a", `header "x-a" repeats "X-A"`},
		{"HeaderValueControl", m("{ path: /, headers: { X-A: \"a\\rb\" } }"), "\"a\\rb\"", 0, "routes[0].match.headers.X-A", "invalid control character"},
		{"HeaderValueSpaces", m("{ path: /, headers: { X-A: \" a\" } }"), "\" a\"", 0, "routes[0].match.headers.X-A", "leading or trailing whitespace"},
		{"QueryNotAMapping", m("{ path: /, query: [a] }"), "[a]", 0, "routes[0].match.query", "expected a mapping, got a list"},
		{"UnknownField", m("{ path: /, method: [GET] }"), "method", 0, "routes[0].match.method", `did you mean "methods"?`},
	})
}

func TestHeaderOpsErrors(t *testing.T) {
	ops := func(field, body string) string {
		return base + "    " + field + ": " + body + "\n"
	}
	runErrorCases(t, []errorCase{
		{"SetFramingHeader", ops("request_headers", "{ set: { Content-Length: \"0\" } }"), "Content-Length", 0, "routes[0].request_headers.set.Content-Length", "managed by the proxy"},
		{"AddHopByHop", ops("response_headers", "{ add: { connection: close } }"), "connection", 0, "routes[0].response_headers.add.connection", "managed by the proxy"},
		{"RemoveHopByHop", ops("request_headers", "{ remove: [Transfer-Encoding] }"), "Transfer-Encoding", 0, "routes[0].request_headers.remove[0]", "managed by the proxy"},
		{"SetForwardingField", ops("request_headers", "{ set: { X-Forwarded-Host: a } }"), "X-Forwarded-Host", 0, "routes[0].request_headers.set.X-Forwarded-Host", "managed by the proxy"},
		{"SetAndRemove", ops("request_headers", "{ set: { X-A: b }, remove: [x-a] }"), "x-a", 0, "routes[0].request_headers.remove", `header "X-A" is both set and removed`},
		{"RemoveTwice", ops("request_headers", "{ remove: [X-A, x-a] }"), "x-a", 0, "routes[0].request_headers.remove[1]", "listed twice"},
		{"ValueNotScalar", ops("request_headers", "{ set: { X-A: [b] } }"), "[b]", 0, "routes[0].request_headers.set.X-A", "expected a string, got a list"},
		{"UnknownField", ops("response_headers", "{ delete: [X-A] }"), "delete", 0, "routes[0].response_headers.delete", `unknown field "delete"`},
	})
}

// TestUnknownFieldsAtEveryLevel puts a misspelt key in every mapping of the
// schema and expects it reported with its full path.
func TestUnknownFieldsAtEveryLevel(t *testing.T) {
	for _, tc := range []struct{ src, path string }{
		{base + "bogus: 1\n", "bogus"},
		{strings.Replace(base, "  - address: 127.0.0.1:8080", "  - address: 127.0.0.1:8080\n    bogus: 1", 1), "listen[0].bogus"},
		{base + "admin:\n  bogus: 1\n", "admin.bogus"},
		{base + "http:\n  bogus: 1\n", "http.bogus"},
		{strings.Replace(base, "    targets:\n", "    bogus: 1\n    targets:\n", 1), "upstreams.users.bogus"},
		{strings.Replace(base, "      - address: 127.0.0.1:9001", "      - address: 127.0.0.1:9001\n        bogus: 1", 1), "upstreams.users.targets[0].bogus"},
		{strings.Replace(base, "    targets:\n", "    pool: { bogus: 1 }\n    targets:\n", 1), "upstreams.users.pool.bogus"},
		{base + "    bogus: 1\n", "routes[0].bogus"},
		{strings.Replace(base, "{ path_prefix: / }", "{ path_prefix: /, bogus: 1 }", 1), "routes[0].match.bogus"},
		{base + "    request_headers: { bogus: 1 }\n", "routes[0].request_headers.bogus"},
		{base + "    response_headers: { bogus: 1 }\n", "routes[0].response_headers.bogus"},
		{base + "access_log:\n  bogus: 1\n", "access_log.bogus"},
	} {
		lines := parseErrors(t, tc.src)
		line, col := posOf(t, tc.src, "bogus", 1)
		want := fmt.Sprintf("t.yaml:%d:%d: %s: unknown field \"bogus\"", line, col, tc.path)
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("errors = %q\nwant [%q]", lines, want)
		}
	}
}

// TestAllProblemsAreReportedInFileOrder checks that one run lists every
// problem, sorted by position, rather than stopping at the first.
func TestAllProblemsAreReportedInFileOrder(t *testing.T) {
	src := `routes:
  - match: { path_prefix: /x/ }
    upstream: nope
listen:
  - address: 127.0.0.1
http:
  idle_timeout: 30
  max_headers: 0
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
        weight: 0
      - adress: 127.0.0.1:9002
`
	lines := parseErrors(t, src)
	want := []string{
		`t.yaml:3:15: routes[0].upstream: unknown upstream "nope" (defined: users)`,
		`t.yaml:5:14: listen[0].address: missing port in address "127.0.0.1"`,
		`t.yaml:7:17: http.idle_timeout: missing unit in duration "30" (for example "30s" or "30ms")`,
		`t.yaml:8:16: http.max_headers: 0 is out of range [1, 10000]`,
		`t.yaml:13:17: upstreams.users.targets[0].weight: 0 is out of range [1, 1000]`,
		`t.yaml:14:9: upstreams.users.targets[1].adress: unknown field "adress" (did you mean "address"?)`,
		`t.yaml:14:9: upstreams.users.targets[1].address: missing required field "address"`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestDocumentLevelErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"Empty", "", "t.yaml: configuration is empty"},
		{"OnlyComments", "# nothing\n", "t.yaml: configuration is empty"},
		{"RootIsAList", "- a\n", "t.yaml:1:1: expected a mapping of sections (listen, upstreams, routes, ...), got a list"},
		{"RootIsAScalar", "hello\n", `t.yaml:1:1: expected a mapping of sections (listen, upstreams, routes, ...), got "hello"`},
		{"TwoDocuments", base + "---\nengine: gnet\n", "t.yaml:10:1: a second YAML document begins here"},
		{"SyntaxError", "listen:\n  - address: [\n", "t.yaml:2: invalid YAML: did not find expected node content"},
		{"TabIndent", "listen:\n\t- address: 127.0.0.1:8080\n", "t.yaml:2: invalid YAML: found character that cannot start any token"},
		{"BadKeyIndent", "listen:\n  - address: a\n   name: b\n", "t.yaml:1: invalid YAML: did not find expected '-' indicator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := parseErrors(t, tc.src)
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("errors = %q; want one starting %q", lines, tc.want)
			}
		})
	}
}

func TestAliasesAreFollowed(t *testing.T) {
	src := `listen:
  - address: 127.0.0.1:8080
upstreams:
  users:
    targets: &t
      - address: 127.0.0.1:9001
  copy:
    targets: *t
routes:
  - match: { path_prefix: / }
    upstream: copy
`
	c := mustParse(t, src)
	if c.Upstream("copy").Targets[0].Address != "127.0.0.1:9001" {
		t.Errorf("alias not followed: %+v", c.Upstream("copy"))
	}
}

func TestAcceptedForms(t *testing.T) {
	// Values that are easy to get wrong in the validator: all must parse.
	for _, tc := range []struct{ name, src string }{
		{"ListenAllInterfaces", strings.Replace(base, "127.0.0.1:8080", "\":8080\"", 1)},
		{"ListenPortZero", strings.Replace(base, "127.0.0.1:8080", "127.0.0.1:0", 1)},
		{"ListenPortZeroTwiceAndAdminPortZero", strings.Replace(base, "  - address: 127.0.0.1:8080\n", "  - address: 127.0.0.1:0\n  - address: 127.0.0.1:0\n", 1) + "admin:\n  address: 127.0.0.1:0\n"},
		{"SamePortDifferentHosts", strings.Replace(base, "  - address: 127.0.0.1:8080\n", "  - address: 127.0.0.1:8080\n  - address: 127.0.0.2:8080\n", 1)},
		{"ListenIPv6", strings.Replace(base, "127.0.0.1:8080", "\"[::]:8080\"", 1)},
		{"TargetHostname", strings.Replace(base, "127.0.0.1:9001", "users-1.svc.cluster.local:9001", 1)},
		{"TargetIPv6", strings.Replace(base, "127.0.0.1:9001", "\"[fd00::1]:9001\"", 1)},
		{"HexLoops", base + "loops: 0x4\n"},
		{"NullSections", base + "http:\naccess_log:\nadmin:\n"},
		{"NumericHeaderValue", base + "    request_headers: { set: { X-Version: 2 } }\n"},
		{"StripPrefixOfExactPath", strings.Replace(base, "{ path_prefix: / }", "{ path: /api/health }", 1) + "    strip_prefix: /api\n"},
		{"WildcardHost", strings.Replace(base, "{ path_prefix: / }", "{ host: \"*.example.com\", path_prefix: / }", 1)},
		{"IPHost", strings.Replace(base, "{ path_prefix: / }", "{ host: 10.0.0.1, path_prefix: / }", 1)},
		{"CustomMethod", strings.Replace(base, "{ path_prefix: / }", "{ path_prefix: /, methods: [PURGE, get-ish] }", 1)},
		{"MaxIdleEqualsMaxConnections", strings.Replace(base, "    targets:\n", "    pool: {max_idle: 4, max_connections: 4}\n    targets:\n", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) { mustParse(t, tc.src) })
	}
}

// FuzzParse feeds arbitrary files to Parse: it must never panic, must
// return exactly one of a Config and a *Errors whose lines all name the file,
// and a Config it accepts must survive Format and Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(full))
	f.Add(demoYAML)
	f.Add([]byte(base + "x: &a [*a]\n"))
	f.Add([]byte("listen: [{address: \"[::1\"}]\nroutes: [{match: {path_template: \"/{a}/{\"}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml") {
					t.Fatalf("error line without file name: %q", line)
				}
			}
			return
		}
		if len(c.Listen) == 0 || len(c.Routes) == 0 || len(c.Upstreams) == 0 {
			t.Fatalf("valid config without listen/routes/upstreams: %+v", c)
		}
		for _, r := range c.Routes {
			if c.Upstream(r.Upstream) == nil || r.Name == "" || r.Timeout <= 0 {
				t.Fatalf("route not complete: %+v", r)
			}
		}
		roundTrip(t, c)
	})
}
