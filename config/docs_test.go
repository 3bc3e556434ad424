package config

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// docBlock is one fenced code block of docs/config.md.
type docBlock struct {
	info string // the text after ``` (language and flags)
	line int    // line of the opening fence
	body string
}

func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	data, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatalf("docs/config.md: %v", err)
	}
	var blocks []docBlock
	var cur *docBlock
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{info: strings.TrimSpace(line[3:]), line: i + 1}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("docs/config.md:%d: unterminated code block", cur.line)
	}
	return blocks
}

// TestDocsExamplesParse parses every ```yaml block of docs/config.md, so the
// documentation cannot drift from the parser. Together the blocks must show
// every field of the schema (each mapping's known fields are recorded by the
// decoder's trace hook), so a new field cannot go undocumented.
func TestDocsExamplesParse(t *testing.T) {
	known := map[string][]string{}        // mapping kind -> its fields
	shown := map[string]map[string]bool{} // mapping kind -> fields the docs set
	trace := func(fields []string, present string) {
		kind := strings.Join(fields, ",")
		known[kind] = fields
		if shown[kind] == nil {
			shown[kind] = map[string]bool{}
		}
		if present != "" {
			shown[kind][present] = true
		}
	}
	n := 0
	for _, b := range docBlocks(t) {
		if b.info != "yaml" {
			continue
		}
		n++
		name := fmt.Sprintf("docs/config.md(block at line %d)", b.line)
		c, err := parse(name, []byte(b.body), trace)
		if err != nil {
			t.Errorf("example at %s does not parse:\n%v", name, err)
			continue
		}
		roundTrip(t, c)
	}
	if n < 10 {
		t.Fatalf("found %d yaml examples in docs/config.md; the extractor is broken", n)
	}
	var missing []string
	for kind, fields := range known {
		for _, f := range fields {
			if !shown[kind][f] {
				missing = append(missing, f+" (in the mapping with fields "+kind+")")
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("docs/config.md has no example setting %s", m)
	}
}

// TestDocsErrorExampleIsWhatCheckPrints parses the "yaml invalid" block and
// compares its errors with the transcript in the text block that follows it.
func TestDocsErrorExampleIsWhatCheckPrints(t *testing.T) {
	blocks := docBlocks(t)
	found := false
	for i, b := range blocks {
		if b.info != "yaml invalid" {
			continue
		}
		found = true
		if i+1 >= len(blocks) || blocks[i+1].info != "text" {
			t.Fatalf("docs/config.md:%d: invalid example not followed by a transcript", b.line)
		}
		var want []string
		for _, l := range strings.Split(blocks[i+1].body, "\n") {
			if strings.HasPrefix(l, "bad.yaml:") {
				want = append(want, l)
			}
		}
		_, err := Parse("bad.yaml", []byte(b.body))
		if err == nil {
			t.Fatalf("docs/config.md:%d: the invalid example parses", b.line)
		}
		if got := err.Error(); got != strings.Join(want, "\n") {
			t.Errorf("docs/config.md:%d transcript differs\n got:\n%s\nwant:\n%s", blocks[i+1].line, got, strings.Join(want, "\n"))
		}
	}
	if !found {
		t.Fatal("docs/config.md has no ```yaml invalid example")
	}
}

// TestDemoBlockInDocsIsTheEmbeddedDemo keeps the last example in step with
// config/demo.yaml (comments aside).
func TestDemoBlockInDocsIsTheEmbeddedDemo(t *testing.T) {
	blocks := docBlocks(t)
	last := blocks[len(blocks)-1]
	var demo []string
	for _, l := range strings.Split(string(demoYAML), "\n") {
		if !strings.HasPrefix(l, "#") {
			demo = append(demo, l)
		}
	}
	if strings.TrimSpace(last.body) != strings.TrimSpace(strings.Join(demo, "\n")) {
		t.Errorf("docs/config.md:%d differs from config/demo.yaml", last.line)
	}
}
