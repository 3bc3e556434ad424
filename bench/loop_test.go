//go:build linux

package bench

import (
	"os"
	"os/exec"
	"testing"
)

// TestLoopEngineSuite runs the load tests again with Config.Engine set to
// the loop engine: both engines must give the same exact counts, timings
// and classifications.
func TestLoopEngineSuite(t *testing.T) {
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
	cmd.Env = append(os.Environ(), "SLUICE_BENCH_ENGINE="+EngineLoop)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loop engine: %v\n%s", err, out)
	}
	t.Logf("loop engine:\n%s", out)
}
