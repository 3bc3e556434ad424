package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersionPrintsVersionAndGoVersion(t *testing.T) {
	var out, errb bytes.Buffer
	code := runVersion(nil, &out, &errb)
	want := "sluice dev " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if code != 0 || out.String() != want || errb.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out.String(), errb.String(), want)
	}
	out.Reset()
	if code := runVersion([]string{"extra"}, &out, &errb); code != 2 || out.Len() != 0 {
		t.Errorf("version extra: exit %d, stdout %q", code, out.String())
	}
}

// TestBuiltBinary builds the real binary with a version stamped in through
// -ldflags and checks what a user sees: the version, and check's output and
// exit codes from a separate process.
func TestBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-test", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return code, out.String(), errb.String()
	}
	code, out, _ := run("version")
	if code != 0 || !strings.HasPrefix(out, "sluice 1.2.3-test "+runtime.Version()+" ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(validConfig+"bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run("help", "check"); code != 0 || !strings.Contains(out, "Usage: sluice check -c FILE [-print]") {
		t.Errorf("help check: exit %d, %q", code, out)
	}
	if code, out, _ := run("check", "-c", good); code != 0 || out != good+": ok\n" {
		t.Errorf("check good: exit %d, %q", code, out)
	}
	if code, _, errOut := run("check", "-c", bad); code != 2 || errOut != bad+":10:1: bogus: unknown field \"bogus\"\n" {
		t.Errorf("check bad: exit %d, %q", code, errOut)
	}
	if code, _, errOut := run("check", "--nope"); code != 2 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("check --nope: exit %d, %q", code, errOut)
	}
}
