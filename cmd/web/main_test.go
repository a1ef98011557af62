package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

// TestMain doubles as the child process of the crash and shutdown tests:
// with ECSDASH_TEST_CHILD set it runs the real command and exits.
func TestMain(m *testing.M) {
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	if os.Getenv("ECSDASH_TEST_CHILD") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runCmd(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errb)
	return out.String() + errb.String(), err
}

func TestUserAddReadsThePasswordFromStdin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	out, err := runCmd(t, "s3cret-password\nignored\n", "user", "add", "--db", path, "--role", "operator", "olga")
	if err != nil || !strings.Contains(out, "created olga (operator)") {
		t.Fatalf("%v %s", err, out)
	}
	if _, err := runCmd(t, "another-password\n", "user", "add", "--db", path, "--role", "operator", "olga"); err == nil {
		t.Fatal("a duplicate user was created")
	}
	if _, err := runCmd(t, "x\n", "user", "add", "--db", path, "--role", "root", "bad"); err == nil {
		t.Fatal("a bad role was accepted")
	}
	out, _ = runCmd(t, "", "user", "list", "--db", path)
	if !strings.Contains(out, "olga") || !strings.Contains(out, "operator") {
		t.Fatalf("list: %s", out)
	}
	if _, err := runCmd(t, "", "user", "disable", "--db", path, "olga"); err != nil {
		t.Fatal(err)
	}
}

// Round three, finding 8: without the key file, verify passed a keyed log
// rewritten in the plain format (exit 0), although the log's own audit_key
// entry says it is keyed. It says it cannot vouch for it and exits 1.
func TestAuditVerifyWithoutTheKeyDoesNotVouchForAKeyedLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log := audit.New(d.Write, d.Read, nil)
	log.Append(ctx, audit.Event{Action: audit.ActionLogin, User: "u", State: audit.StateSucceeded})
	keys, _ := audit.ParseKeys(audit.NewKeyFile())
	log.UseKeys(keys)
	if err := log.EnsureKeyed(ctx); err != nil {
		t.Fatal(err)
	}
	log.Append(ctx, audit.Event{Action: audit.ActionLogin, User: "u", State: audit.StateSucceeded})
	// Rewritten by someone without the key: every hash in the plain format.
	var all []audit.Event
	log.Each(ctx, audit.Filter{}, func(e audit.Event) error { all = append(all, e); return nil })
	d.Write.Exec("DROP TRIGGER audit_events_no_update")
	prev := audit.GenesisHash
	for _, e := range all {
		e.User, e.PrevHash = "mallory", prev
		e.Hash = audit.Hash(e)
		if _, err := d.Write.Exec("UPDATE audit_events SET user = ?, prev_hash = ?, hash = ? WHERE seq = ?", e.User, e.PrevHash, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	d.Write.Exec("DROP TRIGGER audit_ops_fold_only")
	d.Write.Exec("UPDATE audit_ops SET user = 'mallory'")
	d.Close()
	out, err := runCmd(t, "", "audit", "verify", "--db", path)
	if code, ok := err.(exitCode); !ok || code != 1 || !strings.Contains(out, "NOT VERIFIED") || !strings.Contains(out, "entry 2 marks the chain as keyed") || strings.Contains(out, "intact:") {
		t.Fatalf("verify without the key of a rewritten keyed log: %v %s", err, out)
	}
}

func TestAuditVerifyExitsOneNamingTheFirstBadEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(d.Write, d.Read, nil)
	for i := 0; i < 5; i++ {
		log.Append(context.Background(), audit.Event{Action: audit.ActionLogin, User: "u", State: audit.StateSucceeded, RequestID: fmt.Sprint("R", i)})
	}
	out, err := runCmd(t, "", "audit", "verify", "--db", path)
	if err != nil || !strings.Contains(out, "intact: 5 entries;") || !strings.Contains(out, "head 5:") {
		t.Fatalf("%v %s", err, out)
	}
	noted := strings.TrimSpace(out[strings.Index(out, "head ")+len("head "):])
	exp, err := runCmd(t, "", "audit", "export", "--db", path, "--format", "json")
	if err != nil || !strings.Contains(exp, `"request_id":"R4"`) {
		t.Fatalf("%v %s", err, exp)
	}
	for _, s := range []string{"DROP TRIGGER audit_events_no_update", "UPDATE audit_events SET user = 'x' WHERE seq = 3"} {
		if _, err := d.Write.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	out, err = runCmd(t, "", "audit", "verify", "--db", path)
	if code, ok := err.(exitCode); !ok || code != 1 || !strings.Contains(out, "entry 3") {
		t.Fatalf("%v %s", err, out)
	}
	// A head noted earlier that the log no longer reaches.
	d, _ = db.Open(context.Background(), path)
	d.Write.Exec("DROP TRIGGER audit_events_no_delete")
	d.Write.Exec("DELETE FROM audit_events WHERE seq >= 3")
	d.Write.Exec("DROP TRIGGER audit_ops_no_delete") // and the fold, cut alike
	d.Write.Exec("DELETE FROM audit_ops WHERE op_id >= 3")
	d.Close()
	if out, err := runCmd(t, "", "audit", "verify", "--db", path); err != nil {
		t.Fatalf("the cut log's own chain: %v %s", err, out)
	}
	out, err = runCmd(t, "", "audit", "verify", "--db", path, "--head", noted)
	if code, ok := err.(exitCode); !ok || code != 1 || !strings.Contains(out, "no longer reaches the noted head 5") {
		t.Fatalf("--head %s on a truncated log: %v %s", noted, err, out)
	}
	if _, err := runCmd(t, "", "audit", "verify", "--db", path, "--head", "five"); err == nil {
		t.Fatal("a malformed --head was accepted")
	}
}

func TestUnknownCommandIsAnError(t *testing.T) {
	if _, err := runCmd(t, "", "frobnicate"); err == nil {
		t.Fatal("accepted")
	}
}

// child is the real server in its own process.
type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), append(env, "ECSDASH_TEST_CHILD=1")...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		m := regexp.MustCompile(`http://(\S+?)/`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected first line %q", l)
		}
		c := &child{cmd: cmd, addr: m[1]}
		c.waitReady(t)
		return c
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not come up")
	}
	return nil
}

// waitReady waits, as a load balancer would, until /readyz answers 200,
// and then until the first listing of the fleet is in (/metrics gives the
// cache an age; /readyz does not wait for ECS).
func (c *child) waitReady(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + c.addr + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		if resp, err = http.Get("http://" + c.addr + "/metrics"); err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && !strings.Contains(string(b), "ecsdash_fleet_cache_age_seconds -1") {
			return
		}
	}
	t.Fatal("the server never became ready")
}

// stallingECS passes calls to the simulator but holds every StartInstance
// until the caller goes away, telling the test when one arrived.
func stallingECS(t *testing.T, sim *ecssim.Server) (string, <-chan struct{}) {
	arrived := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-acs-action") == "StartInstance" {
			arrived <- struct{}{}
			<-r.Context().Done()
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, arrived
}

func login(t *testing.T, base, user, pw string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	token := func(path string) string {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no csrf token on %s", path)
		}
		return string(m[1])
	}
	resp, err := c.PostForm(base+"/login", url.Values{"username": {user}, "password": {pw}, "_csrf": {token("/login")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, token("/instances")
}

func TestKilledBetweenIntentAndOutcomeBecomesUnknownOnRestart(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "d.db")
	if _, err := runCmd(t, "password-123\n", "user", "add", "--db", dbPath, "--role", "operator", "op"); err != nil {
		t.Fatal(err)
	}
	sim := ecssim.New(ecssim.Options{Seed: 1})
	endpoint, arrived := stallingECS(t, sim)
	env := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ecssim.DemoAccessKeySecret}
	args := []string{"--db", dbPath, "--ecs-endpoint", endpoint, "--regions", strings.Join(sim.Regions(), ","), "--approval", "none"}
	c := startChild(t, env, args...)
	base := "http://" + c.addr
	client, csrf := login(t, base, "op", "password-123")

	// Find a stopped instance from the page.
	resp, err := client.Get(base + "/instances?status=Stopped&region=cn-hangzhou&q=ci-runner")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`data-instance-id="(i-[a-z0-9]+)" data-region="cn-hangzhou"`).FindSubmatch(body)
	if m == nil {
		t.Fatal("no stopped instance on the page")
	}
	id := string(m[1])
	go client.PostForm(base+"/instances/"+id+"/start", url.Values{"region": {"cn-hangzhou"}, "_csrf": {csrf}})
	select {
	case <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("StartInstance never left the server")
	}
	// The request is on the wire: the intent must already be durable.
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()

	again := startChild(t, env, args...)
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ops, _, err := audit.New(d.Write, d.Read, nil).Operations(context.Background(), audit.Filter{InstanceID: id})
	if err != nil || len(ops) != 1 {
		t.Fatalf("%v %d operations for %s", err, len(ops), id)
	}
	last := ops[0].Last
	if last.State != audit.StateUnknown || last.ErrorCode != "Dashboard.OutcomeLost" || !strings.Contains(last.ErrorMessage, "Stopped") || ops[0].First.User != "op" {
		t.Fatalf("after restart: %+v", last)
	}

	// SIGTERM stops the server gracefully: exit 0.
	again.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- again.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful shutdown exited with %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
}

func TestDemoModeComesUpWithoutCredentials(t *testing.T) {
	c := startChild(t, []string{"HOME=" + t.TempDir(), "ALIBABA_CLOUD_ACCESS_KEY_ID=", "ALIBABA_CLOUD_ACCESS_KEY_SECRET="},
		"--db", filepath.Join(t.TempDir(), "d.db"))
	resp, err := http.Get("http://" + c.addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Simulated ECS") || !strings.Contains(string(body), "demo-operator-pw") {
		t.Fatal("demo mode has no banner or demo accounts")
	}
	if r, err := http.Get("http://" + c.addr + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
}

// The demo spans two simulated accounts (prod through a role, staging with
// its own keys), so the account column, its filter and the audit's
// ActionTrail links show in demo mode.
func TestDemoModeListsTwoAccounts(t *testing.T) {
	c := startChild(t, []string{"HOME=" + t.TempDir(), "ALIBABA_CLOUD_ACCESS_KEY_ID=", "ALIBABA_CLOUD_ACCESS_KEY_SECRET="},
		"--db", filepath.Join(t.TempDir(), "d.db"))
	base := "http://" + c.addr
	client, _ := login(t, base, "vera", "demo-viewer-pw")
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	all := get("/instances?per_page=100")
	prod, staging := strings.Count(all, `data-account="prod"`), strings.Count(all, `data-account="staging"`)
	if prod == 0 || staging == 0 {
		t.Fatalf("the demo list shows %d prod and %d staging rows; want both accounts", prod, staging)
	}
	if !strings.Contains(all, `name="account"`) {
		t.Fatal("the demo list has no account filter")
	}
	only := get("/instances?per_page=100&account=staging")
	if n, m := strings.Count(only, `data-account="staging"`), strings.Count(only, `data-account="prod"`); n != staging || m != 0 {
		t.Fatalf("?account=staging shows %d staging and %d prod rows", n, m)
	}
}

func TestWithCredentialsAndNoRegionsEveryRegionOfTheAccountIsListed(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "d.db")
	if _, err := runCmd(t, "password-123\n", "user", "add", "--db", dbPath, "--role", "viewer", "v"); err != nil {
		t.Fatal(err)
	}
	sim := ecssim.New(ecssim.Options{Seed: 1})
	endpoint := serveSim(t, sim)
	env := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ecssim.DemoAccessKeySecret}
	c := startChild(t, env, "--db", dbPath, "--ecs-endpoint", endpoint)
	client, _ := login(t, "http://"+c.addr, "v", "password-123")
	body := get(t, client, "http://"+c.addr+"/instances")
	for _, r := range sim.Regions() {
		if !strings.Contains(body, `<option value="`+r+`">`) {
			t.Fatalf("region %s is not listed", r)
		}
	}
	if strings.Contains(body, "Simulated ECS") {
		t.Fatal("credentials were given, yet the page says demo mode")
	}
}

func TestWrongCredentialsStopTheServerWithWords(t *testing.T) {
	sim := ecssim.New(ecssim.Options{Seed: 1})
	endpoint := serveSim(t, sim)
	var out, errb strings.Builder
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "TOPSECRET-not-the-key", "HOME": t.TempDir()}
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "d.db"), "--ecs-endpoint", endpoint},
		func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "signature") || strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatalf("got %v", err)
	}
}

// `web simulator` serves the simulator alone and says how to reach it; a
// client signing with the printed pair lists and starts instances.
func TestSimulatorCommandPrintsItsEndpointAndKeys(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"simulator", "--addr", "127.0.0.1:0", "--demo-instances", "300"}, func(string) string { return "" }, nil, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	fields := map[string]string{}
	for sc.Scan() && len(fields) < 3 {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "endpoint" {
			fields["endpoint"] = f[1]
		}
		if len(f) == 4 && f[0] == "access" {
			fields[f[2]] = f[3]
		}
	}
	go io.Copy(io.Discard, pr)
	if fields["endpoint"] == "" || fields["id"] != ecssim.DemoAccessKeyID || fields["secret"] != ecssim.DemoAccessKeySecret {
		t.Fatalf("printed %v", fields)
	}
	cred, _ := ecs.StaticCredential(fields["id"], fields["secret"])
	c, err := ecs.New(ecs.Options{Regions: []string{"cn-hangzhou"}, Endpoint: fields["endpoint"], Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := c.ListRegion(ctx, "cn-hangzhou")
	if err != nil || len(list) != 100 {
		t.Fatalf("listing through the printed endpoint: %d instances, %v", len(list), err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("simulator ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the simulator did not stop when interrupted")
	}
	if _, err := runCmd(t, "", "simulator", "--demo-instances", "-1"); err == nil {
		t.Fatal("a negative fleet size was accepted")
	}
}

// `web simulator` serves the demo's two accounts, and `web serve` with the
// flags it prints (and the accounts file it writes) lists both, prod
// through its role and staging with its own keys.
func TestSimulatorCommandServesBothDemoAccountsToServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.yaml")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"simulator", "--addr", "127.0.0.1:0", "--accounts-file", accounts}, func(string) string { return "" }, nil, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var command string
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "web serve") && strings.Contains(l, "--accounts") {
			command = l
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if command == "" {
		t.Fatal("the simulator does not say how to reach both accounts")
	}
	// The printed command, run as the simulator says (its environment: the
	// demo key and staging's keys, which it printed as constants).
	args := strings.Fields(strings.TrimPrefix(command, "web serve"))
	if !slices.Contains(args, accounts) || !slices.Contains(args, "--sts-endpoint") {
		t.Fatalf("the printed command %q", command)
	}
	dbPath := filepath.Join(dir, "d.db")
	if out, err := runCmd(t, "password-123\n", "user", "add", "--db", dbPath, "--role", "operator", "op"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	env := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ecssim.DemoAccessKeySecret,
		"STAGING_ACCESS_KEY_ID=" + ecssim.DemoStagingAccessKeyID, "STAGING_ACCESS_KEY_SECRET=" + ecssim.DemoStagingAccessKeySecret, "HOME=" + dir}
	c := startChild(t, env, append(args, "--db", dbPath, "--approval", "none")...)
	base := "http://" + c.addr
	client, _ := login(t, base, "op", "password-123")
	body := get(t, client, base+"/instances?region=cn-hangzhou&per_page=100")
	for _, account := range []string{"prod", "staging"} {
		if !strings.Contains(body, `data-account="`+account+`"`) {
			t.Fatalf("account %s is not listed through the simulator command", account)
		}
	}
	if strings.Contains(body, "cannot be listed") {
		t.Fatal("an account is named as not listed")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("simulator ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the simulator did not stop when interrupted")
	}
}

// `web simulator --accounts-file` never overwrites a file: an operator's
// own accounts file named by mistake is refused in words, left as it was,
// and nothing is started.
func TestSimulatorAccountsFileRefusesAnExistingFile(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mine := filepath.Join(t.TempDir(), "accounts.yaml")
	const kept = "accounts:\n  - name: prod\n    role_arn: acs:ram::1111111111111111:role/mine\n"
	if err := os.WriteFile(mine, []byte(kept), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run(ctx, []string{"simulator", "--addr", "127.0.0.1:0", "--accounts-file", mine}, func(string) string { return "" }, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("an existing accounts file: %v (printed %q)", err, out.String())
	}
	if b, _ := os.ReadFile(mine); string(b) != kept {
		t.Fatalf("the existing file was changed to %q", b)
	}
	if strings.Contains(out.String(), "ECS simulator:") {
		t.Fatal("the simulator started although its accounts file was refused")
	}
}
