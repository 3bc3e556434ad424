package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validConfig = `listen:
  - address: 127.0.0.1:8080
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
routes:
  - match: { path_prefix: / }
    upstream: users
`

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func check(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runCheck(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckValidFilePrintsOk(t *testing.T) {
	p := writeFile(t, "good.yaml", validConfig)
	code, out, errOut := check("-c", p)
	if code != 0 || out != p+": ok\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCheckInvalidFilePrintsEveryErrorAndExits2(t *testing.T) {
	bad := strings.Replace(validConfig, "127.0.0.1:9001", "127.0.0.1", 1) +
		"http:\n  idle_timeout: 30\n"
	p := writeFile(t, "bad.yaml", bad)
	code, out, errOut := check("-c", p)
	want := p + `:6:18: upstreams.users.targets[0].address: missing port in address "127.0.0.1"` + "\n" +
		p + `:11:17: http.idle_timeout: missing unit in duration "30" (for example "30s" or "30ms")` + "\n"
	if code != 2 || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q\nstderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}
}

func TestCheckUsageErrorsAreOneLineExit2(t *testing.T) {
	p := writeFile(t, "good.yaml", validConfig)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "sluice check: -c FILE is required\n"},
		{[]string{"-x"}, "sluice check: flag provided but not defined: -x\n"},
		{[]string{"-c"}, "sluice check: flag needs an argument: -c\n"},
		{[]string{"-c", p, "extra"}, "sluice check: unexpected argument \"extra\" (use -c FILE)\n"},
		{[]string{"-c", p + ".missing"}, "sluice check: open " + p + ".missing: no such file or directory\n"},
	} {
		code, out, errOut := check(tc.args...)
		if code != 2 || out != "" || errOut != tc.want {
			t.Errorf("check %q: exit %d, stdout %q, stderr %q; want %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestCheckPrintShowsEffectiveConfig(t *testing.T) {
	p := writeFile(t, "good.yaml", validConfig)
	code, out, errOut := check("-c", p, "-print")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// The printed file is itself valid and spells out the defaults.
	p2 := writeFile(t, "effective.yaml", out)
	if code, _, errOut := check("-c", p2); code != 0 {
		t.Errorf("printed config does not check: %s\n%s", errOut, out)
	}
	for _, want := range []string{"max_headers: 100", "retries: 1", "name: route-0", "address: 127.0.0.1:9901"} {
		if !strings.Contains(out, want) {
			t.Errorf("-print output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckHelpExits0(t *testing.T) {
	code, out, errOut := check("-h")
	if code != 0 || errOut != "" || !strings.Contains(out, "Usage: sluice check -c FILE") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
