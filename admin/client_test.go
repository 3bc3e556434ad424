package admin

import (
	"errors"
	"strings"
	"testing"
)

func TestReadFramesFollowsTheEventStreamFormat(t *testing.T) {
	in := ": a comment\n" +
		"event: frame\nid: 1\ndata: {\"stats\":{\"instance\":\"a\",\"rps\":1.5},\n" +
		"data: \"tail\":[{\"seq\":7,\"path\":\"/x\"}]}\n\n" +
		"\n" + // a blank line with no data dispatches nothing
		"data:{\"stats\":{\"instance\":\"b\"}}\r\n\r\n"
	var got []Frame
	err := ReadFrames(strings.NewReader(in), func(f Frame) { got = append(got, f) })
	if !errors.Is(err, ErrStreamEnded) {
		t.Fatalf("err = %v", err)
	}
	if len(got) != 2 || got[0].Stats.Instance != "a" || got[0].Stats.RPS != 1.5 || len(got[0].Tail) != 1 || got[0].Tail[0].Path != "/x" || got[1].Stats.Instance != "b" {
		t.Fatalf("%+v", got)
	}
}

func TestReadFramesRejectsBadFrames(t *testing.T) {
	for name, in := range map[string]string{
		"not json":  "data: {nope\n\n",
		"too large": "data: " + strings.Repeat("x", maxFrame+1) + "\n\n",
	} {
		err := ReadFrames(strings.NewReader(in), func(Frame) { t.Fatalf("%s: frame delivered", name) })
		if err == nil || errors.Is(err, ErrStreamEnded) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzReadFrames(f *testing.F) {
	f.Add([]byte("event: frame\ndata: {\"stats\":{\"seq\":1}}\n\n"))
	f.Add([]byte("data: {\"tail\":[{\"seq\":1}],\ndata: \"events\":[]}\n\n"))
	f.Add([]byte(": keep-alive\n\ndata: null\n\n"))
	f.Add([]byte("data: {\"stats\":{\"routes\":[{\"rps_history\":[1,2,3]}]}}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		n := 0
		err := ReadFrames(strings.NewReader(string(in)), func(Frame) { n++ })
		if err == nil {
			t.Fatal("ReadFrames returned nil; the end of a stream is ErrStreamEnded")
		}
		if n > len(in)/2+1 {
			t.Fatalf("%d frames from %d bytes", n, len(in))
		}
	})
}
