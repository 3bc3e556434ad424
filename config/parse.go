package config

import (
	"bytes"
	_ "embed"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Load reads and parses the configuration file at path. A file that cannot
// be read gives the *os.PathError; a file that does not validate gives a
// *Errors naming path in every line.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read one byte past the limit so Parse can tell "too large" apart from
	// "exactly at the limit" without reading an endless file (/dev/zero).
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// MaxFileSize bounds a configuration file. Real ones are a few KiB; the bound
// keeps a wrong path (a log, a device) from being read into memory whole.
const MaxFileSize = 4 << 20

// Parse parses and validates a configuration; name is used in messages. It
// returns a complete *Config (defaults filled in, see defaults.go) or a
// *Errors listing every problem in file order, never both.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, nil)
}

func parse(name string, data []byte, trace func(known []string, present string)) (*Config, error) {
	d := &configDecoder{decoder: decoder{file: name, trace: trace}, c: defaultConfig()}
	d.c.File = name
	if len(data) > MaxFileSize {
		d.errorf(nil, "", "file is larger than %s; is this the configuration?", Size(MaxFileSize))
		errs := d.errs
		return nil, &errs
	}
	root, ok := d.document(data)
	if ok {
		d.root(root)
		d.crossCheck()
	}
	if len(d.errs) > 0 {
		d.errs.sortByPosition()
		errs := d.errs
		return nil, &errs
	}
	inheritDefaults(d.c, d.routes, d.upstreams)
	return d.c, nil
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data as exactly one YAML document whose root is a mapping.
func (d *configDecoder) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", "configuration is empty")
			return nil, false
		}
		d.syntaxError(err)
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.errorf(&extra, "", "a second YAML document begins here; a configuration is one document")
		return nil, false
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.errorf(nil, "", "configuration is empty")
		return nil, false
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "expected a mapping of sections (listen, upstreams, routes, ...), got %s", describe(root))
		return nil, false
	}
	return root, true
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into a positioned Error.
func (d *configDecoder) syntaxError(err error) {
	e := &Error{File: d.file, Msg: err.Error()}
	if m := yamlLineError.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
	}
	d.errs = append(d.errs, e)
}

//go:embed demo.yaml
var demoYAML []byte

// DemoYAML returns the text of the embedded demo configuration.
func DemoYAML() []byte { return bytes.Clone(demoYAML) }

// Demo returns the embedded demo configuration that `sluice run` uses without
// -c: listeners and upstreams on fixed loopback ports, with the demo
// upstreams started by the run command itself. The file is part of the
// binary and TestDemoParses guards it, so a parse failure here is a build
// defect and panics.
func Demo() *Config {
	c, err := Parse("demo.yaml", demoYAML)
	if err != nil {
		panic("config: embedded demo.yaml is invalid: " + err.Error())
	}
	return c
}
