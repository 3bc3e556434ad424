package limits

import (
	"testing"
	"time"
)

func TestAppendHeadersForAdmittedRequest(t *testing.T) {
	p := mustPolicy("api", 100, time.Second, 200)
	var b Bucket
	for i := 0; i < 50; i++ {
		b.Allow(p, t0, 1)
	}
	d := b.Allow(p, t0, 1) // 149 left, 510ms of debt
	got := string(AppendHeaders(nil, d))
	want := "RateLimit-Policy: \"api\";q=100;w=1;sluice-burst=200\r\n" +
		"RateLimit: \"api\";r=149;t=1\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAppendHeadersForRefusalCarriesRetryAfterEqualToWindow(t *testing.T) {
	p := mustPolicy("daily", 1000, 24*time.Hour, 0) // 86.4s per unit
	var b Bucket
	b.Allow(p, t0, 1000)
	d := b.Allow(p, t0+int64(400*time.Millisecond), 1)
	got := string(AppendHeaders([]byte("X: y\r\n"), d))
	want := "X: y\r\n" +
		"RateLimit-Policy: \"daily\";q=1000;w=86400\r\n" +
		"RateLimit: \"daily\";r=0;t=86\r\n" + // 86.0s exactly, so no round-up
		"Retry-After: 86\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAppendHeadersRoundsSecondsUp(t *testing.T) {
	p := mustPolicy("fast", 10, 100*time.Millisecond, 1) // 10ms per unit
	var b Bucket
	b.Allow(p, t0, 1)
	d := b.Allow(p, t0, 1)
	got := string(AppendHeaders(nil, d))
	want := "RateLimit-Policy: \"fast\";q=10;w=1;sluice-burst=1\r\n" +
		"RateLimit: \"fast\";r=0;t=1\r\n" +
		"Retry-After: 1\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAppendHeadersEscapesPolicyNameAsSFString(t *testing.T) {
	p := mustPolicy(`a"b\c`, 1, time.Second, 1)
	got := string(AppendPolicyValue(nil, p))
	if want := `"a\"b\\c";q=1;w=1`; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	p2 := mustPolicy("", 1, time.Second, 1)
	if got := string(AppendPolicyValue(nil, p2)); got != `"default";q=1;w=1` {
		t.Fatalf("empty name: %q", got)
	}
}

func TestAppendHeadersOmitsShadowAndInvalidRetry(t *testing.T) {
	s := mustPolicy("s", 1, time.Second, 1)
	s.Shadow = true
	var b Bucket
	b.Allow(s, t0, 1)
	if got := AppendHeaders(nil, b.Allow(s, t0, 1)); len(got) != 0 {
		t.Fatalf("shadow policy leaked: %q", got)
	}
	if got := AppendHeaders(nil, Decision{}); len(got) != 0 {
		t.Fatalf("no policy: %q", got)
	}
	p := mustPolicy("p", 1, time.Second, 2)
	var c Bucket
	d := c.Allow(p, t0, 3) // can never be admitted
	got := string(AppendHeaders(nil, d))
	want := "RateLimit-Policy: \"p\";q=1;w=1;sluice-burst=2\r\nRateLimit: \"p\";r=2;t=0\r\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestAppendHeadersMultiListsEnforcingWindows(t *testing.T) {
	sec := mustPolicy("persec", 10, time.Second, 0)
	day := mustPolicy("daily", 1000, 24*time.Hour, 0)
	shadow := mustPolicy("trial", 5, time.Minute, 0)
	shadow.Shadow = true
	m := mustMulti(t, sec, day, shadow)
	var b MultiBucket
	d := b.Allow(m, t0, 1)
	got := string(AppendHeadersMulti(nil, m, d))
	want := "RateLimit-Policy: \"persec\";q=10;w=1, \"daily\";q=1000;w=86400\r\n" +
		"RateLimit: \"persec\";r=9;t=1\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
