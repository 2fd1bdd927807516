package jsonenc_test

import (
	"encoding/json"
	"testing"
	"time"

	"usersapi/internal/jsonenc"
)

var strings = []string{
	"", "plain", `quote " and \ backslash`, "\b\f\n\r\t\x00\x1f\x7f", "<a href='x'>&amp;</a>",
	"line\u2028sep\u2029par", "bad \xff utf-8 \xc3", "Zoë 🐴 漢字", "\u0085 next line",
}

func TestAppendStringEqualsEncodingJSON(t *testing.T) {
	for _, s := range strings {
		want, _ := json.Marshal(s)
		if got := jsonenc.AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendTimeEqualsEncodingJSON(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC),
		time.Date(2026, 11, 25, 16, 11, 45, 500_000_000, time.FixedZone("", 3600)),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.FixedZone("", -23*3600-59*60)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
		{},
	} {
		want, err := json.Marshal(tm)
		got, ok := jsonenc.AppendTime(nil, tm)
		if ok != (err == nil) || ok && string(got) != string(want) {
			t.Errorf("AppendTime(%v) = %s, %v; json.Marshal gives %s, %v", tm, got, ok, want, err)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range strings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsonenc.AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
