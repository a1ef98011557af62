package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The samples in testdata are wrk 4.1.0's own --latency reports, against a
// handler answering in microseconds, in milliseconds, in over a second, and
// one answering some pages with 500 and some after wrk's timeout.
func TestWrkOutputIsReadAsRequestsLatenciesAndErrors(t *testing.T) {
	cases := []struct {
		file               string
		n                  int
		rps                float64
		p50, p99           time.Duration
		non2xx, timeout    int64
		bytesMin, bytesMax float64
	}{
		{"wrk-us.txt", 33641, 33619.32, 96 * time.Microsecond, 3320 * time.Microsecond, 0, 0, 3.87 * 1024 * 1024, 3.89 * 1024 * 1024},
		{"wrk-ms.txt", 1140, 1139.04, 3470 * time.Microsecond, 3910 * time.Microsecond, 0, 0, 134.70 * 1024, 134.72 * 1024},
		{"wrk-s.txt", 8, 2.66, 1200 * time.Millisecond, 1200 * time.Millisecond, 0, 0, 0.94 * 1024, 0.96 * 1024},
		{"wrk-errors.txt", 53, 26.43, 114 * time.Microsecond, 850 * time.Microsecond, 15, 8, 6.53 * 1024, 6.55 * 1024},
	}
	for _, c := range cases {
		b, err := os.ReadFile("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		w, err := parseWrk(string(b))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if w.n != c.n || w.rps != c.rps || w.p50 != c.p50 || w.p99 != c.p99 || w.non2xx != c.non2xx || w.timeout != c.timeout || w.errs != c.non2xx+c.timeout {
			t.Errorf("%s: read %+v; want %d requests, %.2f req/s, p50 %s, p99 %s, %d non-2xx, %d timeouts", c.file, w, c.n, c.rps, c.p50, c.p99, c.non2xx, c.timeout)
		}
		if w.bytes < c.bytesMin || w.bytes > c.bytesMax {
			t.Errorf("%s: %.0f bytes read, want %.0f–%.0f", c.file, w.bytes, c.bytesMin, c.bytesMax)
		}
		if err := w.check(1); (err != nil) != (w.errs > 0) {
			t.Errorf("%s: check gave %v with %d errors", c.file, err, w.errs)
		}
	}
}

func TestARunOfRedirectsFailsWrksCheck(t *testing.T) {
	b, _ := os.ReadFile("testdata/wrk-us.txt")
	w, err := parseWrk(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.check(60 << 10); err == nil {
		t.Error("121 bytes a response passed as a page of 60 KiB")
	}
}

func TestWrkOutputWithoutLatenciesIsAnError(t *testing.T) {
	b, _ := os.ReadFile("testdata/wrk-ms.txt")
	cut := regexp.MustCompile(`(?s)  Latency Distribution.*?99%[^\n]*\n`).ReplaceAllString(string(b), "")
	if _, err := parseWrk(cut); err == nil {
		t.Error("no error for wrk output without --latency's distribution")
	}
}

func TestTheWrkScriptAsksForPageURLsPathsInItsOrder(t *testing.T) {
	defer func(r int) { *pageRows = r }(*pageRows)
	for _, rows := range []int{50, 100} {
		*pageRows = rows
		s, err := wrkScript(nil)
		if err != nil {
			t.Fatal(err)
		}
		table := regexp.MustCompile(`local paths = \{(.*)\}`).FindStringSubmatch(s)
		if table == nil {
			t.Fatalf("no paths table in\n%s", s)
		}
		paths := strings.Split(table[1], ", ")
		if len(paths) != pageCount() {
			t.Fatalf("%d rows: %d paths, want %d", rows, len(paths), pageCount())
		}
		// The script's k-th path (from 1) is asked for at request i when
		// k = i % #paths + 1: it must be pageURL's path for i.
		for i := 1; i <= 2*len(paths); i++ {
			if got, want := paths[i%len(paths)], `"`+pagePath(i)+`"`; got != want {
				t.Fatalf("%d rows, request %d: %s, pageURL's is %s", rows, i, got, want)
			}
		}
	}
}

// A run that read less than a KiB is reported in bytes, with no prefix.
func TestWrkBytesWithoutAPrefixAreBytes(t *testing.T) {
	b, err := os.ReadFile("testdata/wrk-s.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := regexp.MustCompile(`[0-9.]+KB read`).ReplaceAllString(string(b), "960.00B read")
	w, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if w.bytes != 960 {
		t.Fatalf("read %.2f bytes, want 960", w.bytes)
	}
}

// -generator auto loads the page with wrk when wrk is on PATH (the lighter
// generator leaves more of the two cores to the server it measures), and
// with the bench's own Go generator when it is not; wrk asked for by name
// and missing is an error, and so is a name of no generator.
func TestTheAutoGeneratorIsWrkWhenInstalledElseGo(t *testing.T) {
	withWrk := t.TempDir()
	if err := os.WriteFile(withWrk+"/wrk", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	without := t.TempDir()
	old := *generatorName
	t.Cleanup(func() { *generatorName = old })
	for _, c := range []struct {
		name, path, want string
		fails            bool
	}{
		{"auto", withWrk, "wrk", false},
		{"auto", without, "Go generator", false},
		{"go", withWrk, "Go generator", false},
		{"wrk", without, "", true},
		{"ab", withWrk, "", true},
	} {
		t.Setenv("PATH", c.path)
		*generatorName = c.name
		g, err := pageGenerator()
		if (err != nil) != c.fails || !strings.Contains(g.name, c.want) {
			t.Errorf("-generator %s with PATH %s: %q %v", c.name, c.path, g.name, err)
		}
	}
}
