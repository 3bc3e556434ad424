package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file holds the generic half of the decoder: walking yaml.Node trees
// strictly (unknown and duplicate keys are errors) and turning scalars into
// typed values. Every problem is recorded with the node's position and the
// schema path, and decoding carries on so one run reports all of them.

type decoder struct {
	file string
	errs Errors
	// trace, when set, is told the known fields of every mapping decoded
	// and each field present in it (present is "" for the visit itself).
	// Tests use it to prove docs/config.md shows every field.
	trace func(known []string, present string)
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// field joins a schema path and a field name.
func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// deref follows aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unsupported YAML node"
}

// fieldDecoders maps each known key of a mapping to the function that decodes
// its value; path is the value's schema path.
type fieldDecoders map[string]func(v *yaml.Node, path string)

// fields decodes mapping n key by key in file order. Unknown keys, duplicate
// keys and merge keys are errors. A null value (a key with nothing after it)
// counts as an empty mapping. It returns the key nodes that were present, or
// nil when n is not a mapping at all.
func (d *decoder) fields(n *yaml.Node, path string, decoders fieldDecoders) map[string]*yaml.Node {
	n = deref(n)
	seen := map[string]*yaml.Node{}
	if isNull(n) {
		return seen
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of fields, got %s", describe(n))
		return nil
	}
	known := make([]string, 0, len(decoders))
	for k := range decoders {
		known = append(known, k)
	}
	if d.trace != nil {
		sort.Strings(known)
		d.trace(known, "")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, path)
		if !ok {
			continue
		}
		p := field(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(k, p, "duplicate field %q (first set on line %d)", name, first.Line)
			continue
		}
		dec, ok := decoders[name]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", name)
			if s := suggest(name, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(k, p, "%s", msg)
			continue
		}
		seen[name] = k
		if d.trace != nil {
			d.trace(known, name)
		}
		dec(pointNullAtKey(k, v), p)
	}
	return seen
}

// entries walks a mapping whose keys are names chosen by the user (upstream
// names, header names), rejecting duplicates. null counts as empty.
func (d *decoder) entries(n *yaml.Node, path string, each func(k, v *yaml.Node, name, path string)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, path)
		if !ok {
			continue
		}
		p := field(path, name)
		if line, dup := seen[name]; dup {
			d.errorf(k, p, "duplicate key %q (first set on line %d)", name, line)
			continue
		}
		seen[name] = k.Line
		each(k, pointNullAtKey(k, v), name, p)
	}
}

// pointNullAtKey gives an empty value ("key:" with nothing after it) the
// position of its key: yaml.v3 places it just past the colon, and "missing
// value" reads better pointing at the field it belongs to.
func pointNullAtKey(k, v *yaml.Node) *yaml.Node {
	if v != nil && v.Kind == yaml.ScalarNode && v.Value == "" && v.Tag == "!!null" && v.Style == 0 {
		v.Line, v.Column = k.Line, k.Column
	}
	return v
}

func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	k = deref(k)
	if k.Kind != yaml.ScalarNode || isNull(k) {
		d.errorf(k, path, "keys must be plain names, got %s", describe(k))
		return "", false
	}
	if k.ShortTag() == "!!merge" {
		d.errorf(k, path, "merge keys (<<) are not supported; write the fields out")
		return "", false
	}
	return k.Value, true
}

// list returns the items of a sequence; null counts as empty.
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s", describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = deref(it)
	}
	return items, true
}

// scalar returns the text of a non-null scalar. Numbers and booleans are
// accepted where a string is expected (a header value of 2 means "2").
func (d *decoder) scalar(n *yaml.Node, path, what string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		d.errorf(n, path, "missing value (expected %s)", what)
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	return d.scalar(n, path, "a string")
}

// intIn reads a whole number in [lo, hi].
// intTo, durationTo and sizeTo are field decoders that store a value within [lo, hi] into dst;
// a value out of range or of the wrong kind is recorded as an error and leaves dst alone.
func (d *decoder) intTo(dst *int, lo, hi int64) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if x, ok := d.intIn(n, path, lo, hi); ok {
			*dst = x
		}
	}
}

func (d *decoder) durationTo(dst *Duration, lo, hi Duration) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if x, ok := d.durationIn(n, path, lo, hi); ok {
			*dst = x
		}
	}
}

func (d *decoder) sizeTo(dst *Size, lo, hi Size) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if x, ok := d.sizeIn(n, path, lo, hi); ok {
			*dst = x
		}
	}
}

func (d *decoder) intIn(n *yaml.Node, path string, lo, hi int64) (int, bool) {
	s, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return 0, false
	}
	n = deref(n)
	var v int64
	if n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.errorf(n, path, "expected a whole number, got %q", s)
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, "%d is out of range [%d, %d]", v, lo, hi)
		return 0, false
	}
	return int(v), true
}

// durationIn reads a Duration in [lo, hi]; hi 0 means no upper bound.
func (d *decoder) durationIn(n *yaml.Node, path string, lo, hi Duration) (Duration, bool) {
	s, ok := d.scalar(n, path, "a duration such as \"5s\"")
	if !ok {
		return 0, false
	}
	v, err := ParseDuration(s)
	if err != nil {
		d.errorf(deref(n), path, "%v", err)
		return 0, false
	}
	if v < lo || (hi > 0 && v > hi) {
		switch {
		case lo == 1 && hi == 0:
			d.errorf(deref(n), path, "duration must be greater than 0")
		case hi == 0:
			d.errorf(deref(n), path, "duration %s is below the minimum %s", v, lo)
		default:
			d.errorf(deref(n), path, "duration %s is out of range [%s, %s]", v, lo, hi)
		}
		return 0, false
	}
	return v, true
}

// sizeIn reads a Size in [lo, hi]; hi 0 means no upper bound.
func (d *decoder) sizeIn(n *yaml.Node, path string, lo, hi Size) (Size, bool) {
	s, ok := d.scalar(n, path, "a size such as \"8KiB\"")
	if !ok {
		return 0, false
	}
	v, err := ParseSize(s)
	if err != nil {
		d.errorf(deref(n), path, "%v", err)
		return 0, false
	}
	if v < lo || (hi > 0 && v > hi) {
		if hi == 0 {
			d.errorf(deref(n), path, "size %s is below the minimum %s", v, lo)
		} else {
			d.errorf(deref(n), path, "size %s is out of range [%s, %s]", v, lo, hi)
		}
		return 0, false
	}
	return v, true
}

// enum reads one of a fixed set of words.
func (d *decoder) enum(n *yaml.Node, path string, allowed ...string) (string, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	msg := fmt.Sprintf("invalid value %q (allowed: %s)", s, strings.Join(allowed, ", "))
	if sg := suggest(s, allowed); sg != "" {
		msg = fmt.Sprintf("invalid value %q (did you mean %q? allowed: %s)", s, sg, strings.Join(allowed, ", "))
	}
	d.errorf(deref(n), path, "%s", msg)
	return "", false
}

// suggest returns the known word closest to s when it is close enough to be a
// likely typo (edit distance at most 2, and less than half of s), else "".
// Suggest returns the entry of known closest to s (case-insensitive edit distance under 3
// and under half of s), or "": the "did you mean" of config errors and of the CLI.
func Suggest(s string, known []string) string { return suggest(s, known) }

func suggest(s string, known []string) string {
	best, bestDist := "", 3
	ls := strings.ToLower(s)
	for _, k := range known {
		dist := editDistance(ls, strings.ToLower(k))
		if dist < bestDist || (dist == bestDist && best != "" && k < best) {
			best, bestDist = k, dist
		}
	}
	if best == "" || bestDist*2 >= len(s) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
