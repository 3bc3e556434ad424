package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// validator checks a JSON value against the subset of JSON Schema 2020-12
// that bench/schema.json uses. A keyword it does not know is an error, so
// the schema cannot silently grow past what this test checks.
type validator struct {
	root map[string]any
}

var annotations = map[string]bool{"$schema": true, "$id": true, "title": true, "description": true}

func (v *validator) validate(schema map[string]any, x any, path string) error {
	if ref, ok := schema["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			return fmt.Errorf("%s: unsupported $ref %q", path, ref)
		}
		def, ok := v.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: unknown $ref %q", path, ref)
		}
		if err := v.validate(def, x, path); err != nil {
			return err
		}
	}
	for key, arg := range schema {
		if err := v.keyword(key, arg, schema, x, path); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) keyword(key string, arg any, schema map[string]any, x any, path string) error {
	switch key {
	case "$ref", "$defs", "properties", "additionalProperties", "format", "minItems":
		// $ref done by validate; the others are applied with their siblings.
		if key == "properties" || key == "additionalProperties" {
			if key == "additionalProperties" && schema["properties"] != nil {
				return nil // handled with properties
			}
			return v.objectProps(schema, x, path)
		}
		if key == "format" {
			if arg != "date-time" {
				return fmt.Errorf("%s: unsupported format %v", path, arg)
			}
			if s, ok := x.(string); ok {
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					return fmt.Errorf("%s: not a date-time: %q", path, s)
				}
			}
		}
		if key == "minItems" {
			if a, ok := x.([]any); ok && float64(len(a)) < arg.(float64) {
				return fmt.Errorf("%s: %d items, want at least %v", path, len(a), arg)
			}
		}
		return nil
	case "type":
		if !hasType(x, arg.(string)) {
			return fmt.Errorf("%s: %T is not %s", path, x, arg)
		}
	case "required":
		obj, ok := x.(map[string]any)
		if !ok {
			return nil
		}
		for _, name := range arg.([]any) {
			if _, ok := obj[name.(string)]; !ok {
				return fmt.Errorf("%s: missing required %q", path, name)
			}
		}
	case "const":
		if !jsonEqual(x, arg) {
			return fmt.Errorf("%s: %v, want const %v", path, x, arg)
		}
	case "enum":
		for _, e := range arg.([]any) {
			if jsonEqual(x, e) {
				return nil
			}
		}
		return fmt.Errorf("%s: %v not in %v", path, x, arg)
	case "minimum", "exclusiveMinimum":
		n, ok := x.(float64)
		if !ok {
			return nil
		}
		if lim := arg.(float64); n < lim || key == "exclusiveMinimum" && n == lim {
			return fmt.Errorf("%s: %v below %s %v", path, n, key, lim)
		}
	case "pattern":
		if s, ok := x.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(s) {
			return fmt.Errorf("%s: %q does not match %s", path, s, arg)
		}
	case "propertyNames":
		if obj, ok := x.(map[string]any); ok {
			for name := range obj {
				if err := v.validate(arg.(map[string]any), name, path+".(name "+name+")"); err != nil {
					return err
				}
			}
		}
	case "items":
		if a, ok := x.([]any); ok {
			for i, e := range a {
				if err := v.validate(arg.(map[string]any), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	default:
		if !annotations[key] {
			return fmt.Errorf("%s: schema keyword %q is not supported by the test validator", path, key)
		}
	}
	return nil
}

func (v *validator) objectProps(schema map[string]any, x any, path string) error {
	obj, ok := x.(map[string]any)
	if !ok {
		return nil
	}
	props, _ := schema["properties"].(map[string]any)
	for name, val := range obj {
		if ps, ok := props[name]; ok {
			if err := v.validate(ps.(map[string]any), val, path+"."+name); err != nil {
				return err
			}
			continue
		}
		switch ap := schema["additionalProperties"].(type) {
		case bool:
			if !ap {
				return fmt.Errorf("%s: unexpected property %q", path, name)
			}
		case map[string]any:
			if err := v.validate(ap, val, path+"."+name); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasType(x any, t string) bool {
	switch t {
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "string":
		_, ok := x.(string)
		return ok
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "number":
		_, ok := x.(float64)
		return ok
	case "integer":
		n, ok := x.(float64)
		return ok && n == math.Trunc(n)
	}
	return false
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func loadSchema(t *testing.T) *validator {
	t.Helper()
	data, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" || root["$id"] != SchemaID {
		t.Fatalf("schema.json: $schema %v $id %v", root["$schema"], root["$id"])
	}
	return &validator{root: root}
}

func validateJSON(t *testing.T, v *validator, data []byte) error {
	t.Helper()
	var x any
	if err := json.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	return v.validate(v.root, x, "$")
}

func TestReportsValidateAgainstSchema(t *testing.T) {
	v := loadSchema(t)
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"), srv.url("/missing"), srv.url("/reset"))
	for _, cfg := range []Config{
		{Addr: addr, Requests: reqs, Connections: 2, MaxRequests: 60},
		{Addr: addr, Requests: reqs, Connections: 2, Rate: 2000, MaxRequests: 60},
	} {
		res := runFor(t, cfg, 10*time.Second)
		data, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateJSON(t, v, data); err != nil {
			t.Errorf("%s-loop report: %v\n%s", res.Model, err, data)
		}
		back, err := DecodeResult(data)
		if err != nil {
			t.Fatalf("decoding our own report: %v", err)
		}
		if back.uncorrected.TotalCount() != 40 || back.Errors["reset"] != 20 {
			t.Errorf("round trip: %d values, errors %v", back.uncorrected.TotalCount(), back.Errors)
		}
	}
}

func TestSchemaValidatorRejectsBrokenReports(t *testing.T) {
	v := loadSchema(t)
	res := newResult()
	res.Model = "closed"
	res.Status["200"] = 1
	res.uncorrected.RecordValue(10)
	res.corrected.RecordValue(10)
	res.Config = RunConfig{Targets: []string{"http://127.0.0.1:1/"}, Connections: 1, Pipeline: 1, TimeoutSeconds: 1}
	res.finish()
	good, _ := json.Marshal(res)
	if err := validateJSON(t, v, good); err != nil {
		t.Fatalf("baseline report rejected: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"missing_rps", func(m map[string]any) { delete(m, "rps") }},
		{"requests_not_integer", func(m map[string]any) { m["requests"] = 1.5 }},
		{"unknown_model", func(m map[string]any) { m["model"] = "sideways" }},
		{"extra_field", func(m map[string]any) { m["extra"] = true }},
		{"status_code_not_three_digits", func(m map[string]any) { m["status"].(map[string]any)["20"] = 1.0 }},
		{"negative_error_count", func(m map[string]any) { m["errors"].(map[string]any)["reset"] = -1.0 }},
		{"unknown_error_kind", func(m map[string]any) { m["errors"].(map[string]any)["dns"] = 1.0 }},
		{"percentile_missing", func(m map[string]any) {
			delete(m["latency"].(map[string]any)["corrected"].(map[string]any), "p99_us")
		}},
		{"histogram_not_base64", func(m map[string]any) { m["histograms"].(map[string]any)["corrected"] = "not base64!" }},
		{"wrong_schema_id", func(m map[string]any) { m["$schema"] = "x" }},
		{"started_not_a_time", func(m map[string]any) { m["started"] = "yesterday" }},
		{"zero_connections", func(m map[string]any) { m["config"].(map[string]any)["connections"] = 0.0 }},
		{"no_targets", func(m map[string]any) { m["config"].(map[string]any)["targets"] = []any{} }},
		{"zero_timeout", func(m map[string]any) { m["config"].(map[string]any)["timeout_seconds"] = 0.0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			json.Unmarshal(good, &m)
			tt.mutate(m)
			data, _ := json.Marshal(m)
			if err := validateJSON(t, v, data); err == nil {
				t.Errorf("mutated report accepted")
			}
		})
	}
}
