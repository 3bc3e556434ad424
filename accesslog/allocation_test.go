//go:build !race

package accesslog

import (
	"path/filepath"
	"testing"
)

func TestObserveAllocatesNothing(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "a.log"), FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := record("/users/42", 200)
	if a := testing.AllocsPerRun(1000, func() { l.Observe(r) }); a != 0 {
		t.Fatalf("Observe allocates %.1f times", a)
	}
}
