package main

import (
	"bytes"
	"strings"
	"testing"
)

func runDispatch(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpListsEveryRegisteredCommand(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help", "-help"} {
		code, out, errOut := runDispatch(arg)
		if code != 0 || errOut != "" {
			t.Errorf("sluice %s: exit %d, stderr %q", arg, code, errOut)
		}
		for name, c := range commands {
			if !strings.Contains(out, "  "+name+" ") || !strings.Contains(out, c.summary) {
				t.Errorf("sluice %s does not list %q (%q):\n%s", arg, name, c.summary, out)
			}
		}
		if !strings.Contains(out, "Usage: sluice COMMAND") {
			t.Errorf("sluice %s: no usage line:\n%s", arg, out)
		}
	}
	// check and version live in this package's own files; run, bench and
	// console register themselves when their files are present.
	for _, name := range []string{"check", "version"} {
		if _, ok := commands[name]; !ok {
			t.Errorf("command %q is not registered", name)
		}
	}
}

func TestNoCommandPrintsUsageAndExits2(t *testing.T) {
	code, out, errOut := runDispatch()
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage: sluice COMMAND") {
		t.Errorf("sluice: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestUnknownCommandIsOneLineAndExits2(t *testing.T) {
	code, out, errOut := runDispatch("chekc", "-c", "x")
	want := "sluice: unknown command \"chekc\" (did you mean \"check\"?); run 'sluice help' for the list\n"
	if code != 2 || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want stderr %q", code, out, errOut, want)
	}
	code, _, errOut = runDispatch("zzzzzzzz")
	if code != 2 || strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "did you mean") {
		t.Errorf("far-off name: exit %d, stderr %q", code, errOut)
	}
}

func TestHelpCommandShowsThatCommandsFlags(t *testing.T) {
	// The command prints its usage to the process's stdout (TestBuiltBinary
	// checks the text); here, that help reaches the command as -h.
	var got []string
	commands["test-echo"] = command{summary: "test", run: func(args []string) int { got = args; return 0 }}
	defer delete(commands, "test-echo")
	if code, _, _ := runDispatch("help", "test-echo"); code != 0 || strings.Join(got, " ") != "-h" {
		t.Errorf("sluice help test-echo: exit %d, args %q", code, got)
	}
	code, _, errOut := runDispatch("help", "nope")
	if code != 2 || !strings.Contains(errOut, `unknown command "nope"`) {
		t.Errorf("sluice help nope: exit %d, stderr %q", code, errOut)
	}
}

func TestDispatchPassesArgumentsThrough(t *testing.T) {
	var got []string
	commands["test-echo"] = command{summary: "test", run: func(args []string) int { got = args; return 7 }}
	defer delete(commands, "test-echo")
	code, _, _ := runDispatch("test-echo", "-x", "y")
	if code != 7 || strings.Join(got, " ") != "-x y" {
		t.Errorf("exit %d, args %q", code, got)
	}
}
