package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecsdash/internal/notify"
)

// receiver records what webhooks receive; fail decides each answer.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	reqs   []*http.Request
	calls  atomic.Int32
	got    chan struct{}
}

func newReceiver(t *testing.T, answer func(n int32) int) (*receiver, string) {
	rc := &receiver{got: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		status := answer(n)
		if status == 200 {
			rc.mu.Lock()
			rc.bodies, rc.reqs = append(rc.bodies, b), append(rc.reqs, r.Clone(context.Background()))
			rc.mu.Unlock()
		}
		w.WriteHeader(status)
		if status == 200 {
			rc.got <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/hook"
}

func (rc *receiver) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-rc.got:
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d deliveries arrived", len(rc.bodies))
		}
	}
}

func run(t *testing.T, o notify.Options) *notify.Notifier {
	n := notify.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

var msg = notify.Message{Event: "awaiting_approval", AuditID: 7, OperationID: 7, InstanceID: "i-bp1abc", InstanceName: "hadoop-data-01",
	Region: "cn-hangzhou", InitLocalDisk: true, Requester: "olivia", Reason: "disk failed", URL: "https://portal.example/ecs/audit#request-7",
	Time: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}

func TestJSONCarriesTheContractFieldsAndItsSignature(t *testing.T) {
	t.Parallel()
	rc, url := newReceiver(t, func(int32) int { return 200 })
	secret := []byte("webhook-secret")
	n := run(t, notify.Options{URLs: []string{url}, Secret: secret})
	n.Send(msg)
	rc.wait(t, 1)
	var got map[string]any
	if err := json.Unmarshal(rc.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"event", "audit_id", "operation_id", "instance_id", "instance_name", "region", "init_local_disk",
		"requester", "approver", "reason", "request_id", "error_code", "url", "time"} {
		if _, ok := got[f]; !ok {
			t.Errorf("the JSON lacks %s", f)
		}
	}
	if got["event"] != "awaiting_approval" || got["instance_name"] != "hadoop-data-01" || got["init_local_disk"] != true {
		t.Fatalf("%v", got)
	}
	h := rc.reqs[0].Header
	ts, id := h.Get("X-ECS-Dashboard-Timestamp"), h.Get("X-ECS-Dashboard-Event-Id")
	if want := "t=" + ts + ",sha256=" + notify.SignEvent(secret, ts, id, rc.bodies[0]); h.Get("X-ECS-Dashboard-Signature") != want {
		t.Fatalf("signature %q, want %q", h.Get("X-ECS-Dashboard-Signature"), want)
	}
}

// A captured JSON delivery does not replay as valid forever: the
// signature covers the delivery's timestamp and the event's stable id with
// the body, so a receiver can refuse an old one and drop a duplicate; a
// changed timestamp or id no longer matches.
func TestAJSONWebhookSignsATimestampAndTheEventID(t *testing.T) {
	t.Parallel()
	rc, url := newReceiver(t, func(int32) int { return 200 })
	secret := []byte("webhook-secret")
	at := time.Date(2026, 11, 27, 8, 0, 5, 0, time.UTC)
	n := run(t, notify.Options{URLs: []string{url}, Secret: secret, Now: func() time.Time { return at }})
	n.Send(msg)
	n.Send(msg) // delivered again (at least once): the same event id
	rc.wait(t, 2)
	h := rc.reqs[0].Header
	ts, id := h.Get("X-ECS-Dashboard-Timestamp"), h.Get("X-ECS-Dashboard-Event-Id")
	if ts != "1795766405" || id != "7.awaiting_approval" || rc.reqs[1].Header.Get("X-ECS-Dashboard-Event-Id") != id {
		t.Fatalf("timestamp %q, event ids %q and %q", ts, id, rc.reqs[1].Header.Get("X-ECS-Dashboard-Event-Id"))
	}
	var body struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(rc.bodies[0], &body); err != nil || body.EventID != id {
		t.Fatalf("the body's event_id %q (%v)", body.EventID, err)
	}
	sig := h.Get("X-ECS-Dashboard-Signature")
	if sig != "t="+ts+",sha256="+notify.SignEvent(secret, ts, id, rc.bodies[0]) {
		t.Fatalf("signature %q", sig)
	}
	for name, forged := range map[string]string{
		"a later timestamp": notify.SignEvent(secret, "1795770000", id, rc.bodies[0]),
		"another event id":  notify.SignEvent(secret, ts, "8.approved", rc.bodies[0]),
		"the body alone":    notify.Sign(secret, rc.bodies[0]),
	} {
		if strings.HasSuffix(sig, forged) {
			t.Errorf("%s gives the same signature", name)
		}
	}
}

func TestAFailingReceiverIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	rc, url := newReceiver(t, func(n int32) int {
		if n <= 2 {
			return 503
		}
		return 200
	})
	outcomes := make(chan string, 4)
	n := run(t, notify.Options{URLs: []string{url}, BaseDelay: time.Millisecond, Outcome: func(o string) { outcomes <- o }})
	n.Send(msg)
	rc.wait(t, 1)
	select {
	case o := <-outcomes:
		if o != "delivered" {
			t.Fatalf("outcome %s", o)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery was not counted")
	}
	if c := rc.calls.Load(); c != 3 {
		t.Fatalf("%d calls, want 3 (two failures, then delivered)", c)
	}
}

func TestRetriesAreBoundedAndAReceiverThatRefusesIsNotAskedAgain(t *testing.T) {
	t.Parallel()
	_, always500 := newReceiver(t, func(int32) int { return 500 })
	refuser, refuses := newReceiver(t, func(int32) int { return 400 })
	failed := make(chan string, 2)
	n := run(t, notify.Options{URLs: []string{always500, refuses}, BaseDelay: time.Millisecond, MaxAttempts: 4,
		Outcome: func(o string) { failed <- o }})
	n.Send(msg)
	for range 2 {
		select {
		case o := <-failed:
			if o != "failed" {
				t.Fatalf("outcome %s", o)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a delivery never ended")
		}
	}
	if c := refuser.calls.Load(); c != 1 {
		t.Fatalf("a 400 was asked %d times", c)
	}
}

// A receiver that hangs holds one delivery up to the timeout; Send returns
// at once all the same, and other receivers are served.
func TestAHangingReceiverBlocksNothing(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // runs first: the hanging handler ends, then the server closes
	rc, url := newReceiver(t, func(int32) int { return 200 })
	n := run(t, notify.Options{URLs: []string{hang.URL, url}, Timeout: time.Minute, Workers: 2})
	sent := make(chan struct{})
	go func() {
		for range 20 {
			n.Send(msg)
		}
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on a hanging receiver")
	}
	rc.wait(t, 1)
}

func TestAFullQueueDropsAndCounts(t *testing.T) {
	t.Parallel()
	dropped := atomic.Int32{}
	n := notify.New(notify.Options{URLs: []string{"http://127.0.0.1:1/never"}, Queue: 2, Outcome: func(o string) {
		if o == "dropped" {
			dropped.Add(1)
		}
	}})
	for range 5 { // not running: nothing drains the queue
		n.Send(msg)
	}
	if dropped.Load() != 3 {
		t.Fatalf("%d dropped, want 3", dropped.Load())
	}
}

func TestChatFormats(t *testing.T) {
	t.Parallel()
	rc, url := newReceiver(t, func(int32) int { return 200 })
	run(t, notify.Options{URLs: []string{url}, Format: notify.FormatSlack}).Send(msg)
	rc.wait(t, 1)
	var slack map[string]string
	json.Unmarshal(rc.bodies[0], &slack)
	if !strings.Contains(slack["text"], "hadoop-data-01") || !strings.Contains(slack["text"], "wiping all data") ||
		!strings.Contains(slack["text"], "awaits approval") || !strings.Contains(slack["text"], "Reason: disk failed") {
		t.Fatalf("slack text %q", slack["text"])
	}

	dt, dtURL := newReceiver(t, func(int32) int { return 200 })
	secret := []byte("SECdingtalk")
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	run(t, notify.Options{URLs: []string{dtURL + "?access_token=abc"}, Format: notify.FormatDingTalk, Secret: secret, Now: func() time.Time { return now }}).Send(msg)
	dt.wait(t, 1)
	var body struct {
		MsgType string `json:"msgtype"`
		Text    struct{ Content string }
	}
	json.Unmarshal(dt.bodies[0], &body)
	q := dt.reqs[0].URL.Query()
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("1795766400000\n" + string(secret)))
	if body.MsgType != "text" || !strings.Contains(body.Text.Content, "hadoop-data-01") || q.Get("access_token") != "abc" ||
		q.Get("timestamp") != "1795766400000" || q.Get("sign") != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Fatalf("dingtalk: %+v %v", body, q)
	}
}

// Round three, finding 5: a reason or an instance name reached Slack and
// DingTalk as written: <!channel>, a link whose text shows the dashboard but
// points elsewhere, newlines faking lines of their own, bidi overrides.
func TestChatMessagesCannotBeForgedThroughWhatAUserWrote(t *testing.T) {
	t.Parallel()
	forged := msg
	forged.Reason = "<!channel> see <https://evil.example/x|https://portal.example/ecs/audit> & approve\n" +
		"Start of prod-db approved by admin (request 8 of olivia).\r\n\u202etxt.exe\u2066\u200b\x07 " + strings.Repeat("long ", 400)
	forged.InstanceName = "web\n<!here>\u2028" + strings.Repeat("n", 500)
	forged.Requester = "olivia\u202e"

	rc, url := newReceiver(t, func(int32) int { return 200 })
	run(t, notify.Options{URLs: []string{url}, Format: notify.FormatSlack}).Send(forged)
	rc.wait(t, 1)
	var slack struct {
		Text   string `json:"text"`
		Mrkdwn *bool  `json:"mrkdwn"`
	}
	if err := json.Unmarshal(rc.bodies[0], &slack); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<!channel>", "<!here>", "<https://evil", " & "} {
		if strings.Contains(slack.Text, bad) {
			t.Fatalf("slack text carries %q: %q", bad, slack.Text)
		}
	}
	if !strings.Contains(slack.Text, "&lt;!channel&gt;") || !strings.Contains(slack.Text, "&amp; approve") {
		t.Fatalf("slack text lost the reason's words: %q", slack.Text)
	}
	if slack.Mrkdwn == nil || *slack.Mrkdwn {
		t.Fatal("slack text is sent as mrkdwn: *bold* and _italic_ in a reason would be markup")
	}
	dt, dtURL := newReceiver(t, func(int32) int { return 200 })
	run(t, notify.Options{URLs: []string{dtURL}, Format: notify.FormatDingTalk}).Send(forged)
	dt.wait(t, 1)
	var ding struct{ Text struct{ Content string } }
	if err := json.Unmarshal(dt.bodies[0], &ding); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"slack": slack.Text, "dingtalk": ding.Text.Content} {
		if strings.ContainsAny(text, "\n\r\u2028\u202e\u2066\u200b\x07") {
			t.Fatalf("%s: a line break, control or bidi character got through: %q", name, text)
		}
		if n := len([]rune(text)); n > 700 {
			t.Fatalf("%s: %d characters; what a user wrote is not capped", name, n)
		}
		if !strings.Contains(text, "awaits approval") || !strings.Contains(text, "olivia") {
			t.Fatalf("%s: the dashboard's own words are lost: %q", name, text)
		}
	}
}

func TestEachReceiverGetsTheChatTextInItsLanguage(t *testing.T) {
	t.Parallel()
	en, enURL := newReceiver(t, func(int32) int { return 200 })
	zh, zhURL := newReceiver(t, func(int32) int { return 200 })
	n := run(t, notify.Options{URLs: []string{enURL, zhURL}, Format: notify.FormatDingTalk, Lang: "en", Langs: map[string]string{zhURL: "zh-CN"}})
	n.Send(msg)
	en.wait(t, 1)
	zh.wait(t, 1)
	text := func(rc *receiver) string {
		var body struct{ Text struct{ Content string } }
		json.Unmarshal(rc.bodies[0], &body)
		return body.Text.Content
	}
	if got := text(en); !strings.Contains(got, "awaits approval") {
		t.Errorf("the English receiver got %q", got)
	}
	got := text(zh)
	for _, want := range []string{"olivia 申请启动 hadoop-data-01（i-bp1abc，cn-hangzhou）", "初始化本地盘", "等待审批（申请 7）", "原因：disk failed", "https://portal.example/ecs/audit#request-7"} {
		if !strings.Contains(got, want) {
			t.Errorf("the Chinese receiver's text %q lacks %q", got, want)
		}
	}
	// Slack's escaping holds in Chinese too: what a user wrote stays data.
	m := msg
	m.Reason = "<!channel> 快"
	if s := notify.SlackText(m, "zh-CN"); !strings.Contains(s, "&lt;!channel&gt;") || !strings.Contains(s, "原因") {
		t.Errorf("slack in Chinese: %q", s)
	}
}
