package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var generatorName = flag.String("generator", "auto", "the list page figure's load generator: wrk (Debian's wrk with a Lua script rotating the pages), go (the bench's own, net/http: it spends more CPU a request than the server it loads, on the same two cores, and the bare handler's p99 under it is mostly its own), or auto: wrk when it is on PATH, else go")

// wrkThreads is wrk's -t. One thread: on these two cores -t1 and -t2 made
// the same rates within the runs' spread (the coordinator's check, 32
// connections, 8 s: the dashboard 10–12k req/s, the bare handler 19–22k,
// with either), and -t1 left more CPU to the server: a second thread only
// competes with the server for the cores, and one thread does not saturate
// one core at these rates.
const wrkThreads = 1

// generator loads base's list pages, sending cookies, for -load with
// -conns connections.
type generator struct {
	name string
	load func(base string, cookies []*http.Cookie, minBytes int) (result, error)
}

// pageGenerator is the generator -generator names.
func pageGenerator() (generator, error) {
	name := *generatorName
	if name == "auto" {
		name = "go"
		if _, err := exec.LookPath("wrk"); err == nil {
			name = "wrk"
		}
	}
	switch name {
	case "go":
		return generator{"the bench's Go generator (net/http)", goLoad}, nil
	case "wrk":
		if _, err := exec.LookPath("wrk"); err != nil {
			return generator{}, errors.New("-generator wrk needs the wrk program on PATH (Debian: apt-get install wrk), and none was found")
		}
		return generator{fmt.Sprintf("wrk -t%d with a Lua script", wrkThreads), wrkLoad}, nil
	}
	return generator{}, fmt.Errorf("-generator is auto, wrk or go, not %q", *generatorName)
}

// goLoad is the bench's own generator on the list pages.
func goLoad(base string, cookies []*http.Cookie, _ int) (result, error) {
	return load(*conns, *loadTime, 200000, func(c *http.Client, i int) error {
		req, _ := http.NewRequest(http.MethodGet, pageURL(base, i), nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		return do(c, req)
	}), nil
}

// wrkLoad runs wrk on base's list pages for -load with -conns
// connections, the pages in pageURL's order, and reads its --latency
// output. A response wrk counts as an error (a status of 400 or more, a
// socket error or a timeout) fails the load; so does a run that read
// fewer than minBytes a response on average (wrk counts a redirect, to
// the login page when the session is not sent, as a success).
func wrkLoad(base string, cookies []*http.Cookie, minBytes int) (result, error) {
	dir, err := os.MkdirTemp("", "ecsdash-wrk-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	script, err := wrkScript(cookies)
	if err != nil {
		return result{}, err
	}
	// The session cookie goes in the script (mode 0600), not on wrk's
	// command line, where any user's ps would show it.
	file := filepath.Join(dir, "pages.lua")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		return result{}, err
	}
	secs := max(1, int(math.Ceil(loadTime.Seconds())))
	out, err := exec.Command("wrk", "-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(*conns), "-d", fmt.Sprintf("%ds", secs),
		"--timeout", "10s", "--latency", "-s", file, base+pagePath(0)).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, strings.TrimSpace(string(out)))
	}
	w, err := parseWrk(string(out))
	if err != nil {
		return result{}, err
	}
	if err := w.check(minBytes); err != nil {
		return w.result, err
	}
	return w.result, nil
}

// wrkScript is the Lua script that makes wrk ask for pagePath(i) at its
// i-th request (from 1, as the Go generator's), with the cookies.
func wrkScript(cookies []*http.Cookie) (string, error) {
	var paths []string
	for i := range pageCount() {
		paths = append(paths, luaString(pagePath(i)))
	}
	var header []string
	for _, c := range cookies {
		header = append(header, c.Name+"="+c.Value)
	}
	cookie := strings.Join(header, "; ")
	for _, r := range cookie {
		if r < ' ' || r > '~' {
			return "", errors.New("a session cookie wrk cannot send: not printable ASCII")
		}
	}
	var b strings.Builder
	b.WriteString("-- written by go run ./bench -generator wrk: the list pages in pageURL's order\n")
	fmt.Fprintf(&b, "local paths = {%s}\n", strings.Join(paths, ", "))
	if cookie != "" {
		fmt.Fprintf(&b, "wrk.headers[\"Cookie\"] = %s\n", luaString(cookie))
	}
	b.WriteString(`local requests = {}
local i = 0
request = function()
  i = i + 1
  local k = i % #paths + 1
  local r = requests[k]
  if not r then
    r = wrk.format("GET", paths[k])
    requests[k] = r
  end
  return r
end
`)
	return b.String(), nil
}

// luaString quotes s, printable ASCII, as a Lua string.
func luaString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// wrkOutput is what wrk --latency reports.
type wrkOutput struct {
	result
	bytes                         float64
	non2xx                        int64
	connect, read, write, timeout int64
}

var (
	wrkTotal   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+[a-z]+), ([0-9.]+)([KMGTP]?)B read\s*$`)
	wrkRate    = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)\s*$`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)\s*$`)
	wrkSockets = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
)

// parseWrk reads wrk --latency's report: the requests and bytes read,
// requests/sec, the 50th and 99th percentiles, and the errors lines wrk
// prints only when there are errors.
func parseWrk(out string) (wrkOutput, error) {
	var w wrkOutput
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return w, fmt.Errorf("no \"N requests in T, B read\" line in wrk's output: %s", strings.TrimSpace(out))
	}
	n, _ := strconv.Atoi(m[1])
	w.n = n
	w.bytes, _ = strconv.ParseFloat(m[3], 64)
	if m[4] != "" { // wrk's units are binary: K is 1024
		w.bytes *= math.Pow(1024, float64(strings.Index("KMGTP", m[4])+1))
	}
	r := wrkRate.FindStringSubmatch(out)
	if r == nil {
		return w, fmt.Errorf("no Requests/sec line in wrk's output: %s", strings.TrimSpace(out))
	}
	w.rps, _ = strconv.ParseFloat(r[1], 64)
	pcts := wrkPct.FindAllStringSubmatch(out, -1)
	if len(pcts) != 2 {
		return w, fmt.Errorf("no 50%% and 99%% latencies in wrk's output (was it run with --latency?): %s", strings.TrimSpace(out))
	}
	for _, p := range pcts {
		d, err := wrkDuration(p[2], p[3])
		if err != nil {
			return w, err
		}
		if p[1] == "50" {
			w.p50 = d
		} else {
			w.p99 = d
		}
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		w.non2xx, _ = strconv.ParseInt(e[1], 10, 64)
	}
	if e := wrkSockets.FindStringSubmatch(out); e != nil {
		for i, to := range []*int64{&w.connect, &w.read, &w.write, &w.timeout} {
			*to, _ = strconv.ParseInt(e[i+1], 10, 64)
		}
	}
	w.errs = w.non2xx + w.connect + w.read + w.write + w.timeout
	return w, nil
}

// wrkDuration is one of wrk's times: a number and us, ms, s, m or h.
func wrkDuration(num, unit string) (time.Duration, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("wrk's time %s%s: %v", num, unit, err)
	}
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	return time.Duration(v * float64(scale)), nil
}

// check fails a run with errors, or one whose responses averaged fewer
// than minBytes.
func (w wrkOutput) check(minBytes int) error {
	if w.errs > 0 {
		return fmt.Errorf("wrk: %d errors in %d requests: %d responses of status 400 or more; socket errors: connect %d, read %d, write %d, timeout %d",
			w.errs, w.n, w.non2xx, w.connect, w.read, w.write, w.timeout)
	}
	if w.n == 0 {
		return errors.New("wrk made no requests")
	}
	if w.bytes/float64(w.n) < float64(minBytes) {
		return fmt.Errorf("wrk read %.0f bytes a response, fewer than the page's %d: were the responses redirects (to the login page)?", w.bytes/float64(w.n), minBytes)
	}
	return nil
}
