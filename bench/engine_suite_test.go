package bench

import (
	"os"
	"os/exec"
	"testing"
)

// TestGoroutineEngineSuite runs the load tests again with Config.Engine set
// to the goroutine engine (the default is the loop engine): both engines must
// give the same exact counts, timings and classifications.
func TestGoroutineEngineSuite(t *testing.T) {
	if os.Getenv("SLUICE_BENCH_ENGINE") != "" {
		t.Skip("already inside an engine run")
	}
	args := []string{"-test.run", "^Test(OpenLoop|ClosedLoop|Pipelined|Responses|Head|Errors|Stop|Progress|Live|Reports|Merge)"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SLUICE_BENCH_ENGINE="+EngineGoroutines)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("goroutine engine: %v\n%s", err, out)
	}
	t.Logf("goroutine engine:\n%s", out)
}
