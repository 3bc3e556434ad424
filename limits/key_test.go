package limits

import (
	"bytes"
	"testing"
)

func TestAppendKeyPartCannotBeForgedWithSeparators(t *testing.T) {
	a := AppendKeyString(AppendKeyString(nil, "a"), "b|c")
	b := AppendKeyString(AppendKeyString(nil, "a|b"), "c")
	if bytes.Equal(a, b) {
		t.Fatalf("distinct part lists encode equally: %q", a)
	}
	if got := AppendKeyPart(nil, []byte("10.0.0.1")); string(got) != "\x0810.0.0.1" {
		t.Fatalf("encoding %q", got)
	}
	if !bytes.Equal(AppendKeyPart(nil, []byte("x")), AppendKeyString(nil, "x")) {
		t.Fatal("byte and string forms differ")
	}
}

func FuzzAppendKeyPartIsInjective(f *testing.F) {
	f.Add([]byte("a"), []byte("b|c"), []byte("a|b"), []byte("c"))
	f.Add([]byte(""), []byte("\x01x"), []byte("\x01"), []byte("x"))
	f.Fuzz(func(t *testing.T, a1, a2, b1, b2 []byte) {
		ka := AppendKeyPart(AppendKeyPart(nil, a1), a2)
		kb := AppendKeyPart(AppendKeyPart(nil, b1), b2)
		same := bytes.Equal(a1, b1) && bytes.Equal(a2, b2)
		if bytes.Equal(ka, kb) != same {
			t.Fatalf("parts (%q,%q) vs (%q,%q): keys equal=%v", a1, a2, b1, b2, !same)
		}
	})
}

func TestAppendKeyTextIsReadableAndUnambiguous(t *testing.T) {
	k := AppendKeyString(nil, "10.0.0.7")
	k = AppendKeyPart(k, []byte("a+b c"))
	if got := string(AppendKeyText(nil, k)); got != "10.0.0.7+a%2Bb%20c" {
		t.Fatalf("got %q", got)
	}
	if got := string(AppendKeyText(nil, []byte{5, 'a'})); got != "<bad key>" {
		t.Fatalf("truncated key: %q", got)
	}
}
