// Package notify delivers the approval flow's events to webhooks (a chat
// room, a pager, a script): JSON, Slack-compatible or DingTalk messages,
// POSTed in the background. The dashboard delivers them from the audit log
// (Outbox, outbox.go: a cursor per receiver in the database, at least
// once, in order); Send and Run are a queue in memory with bounded
// retries, for a caller without a log. Sending never blocks or fails the
// request that caused it; the audit log, not the webhook, is the record.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ecsdash/internal/i18n"
)

// Message is one event, with the contract's fields (the json format sends
// it as is).
type Message struct {
	// EventID names the event for good ("AUDIT_ID.EVENT"): the same in
	// every delivery of it, so a receiver drops duplicates (EventID
	// sets it when empty).
	EventID       string    `json:"event_id"`
	Event         string    `json:"event"`
	AuditID       int64     `json:"audit_id"`
	OperationID   int64     `json:"operation_id"`
	InstanceID    string    `json:"instance_id"`
	InstanceName  string    `json:"instance_name"`
	Region        string    `json:"region"`
	InitLocalDisk bool      `json:"init_local_disk"`
	Requester     string    `json:"requester"`
	Approver      string    `json:"approver"`
	Reason        string    `json:"reason"`
	RequestID     string    `json:"request_id"`
	ErrorCode     string    `json:"error_code"`
	URL           string    `json:"url"`
	Time          time.Time `json:"time"`

	// ReasonWords is Reason to say in a chat text's language when it is
	// the dashboard's own (a withdrawal's, an expiry's); nil: Reason as
	// given. The json format carries Reason.
	ReasonWords i18n.Said `json:"-"`
}

// The formats.
const (
	FormatJSON     = "json"
	FormatSlack    = "slack"
	FormatDingTalk = "dingtalk"
)

// Options configure a Notifier.
type Options struct {
	URLs   []string
	Format string // json (default), slack or dingtalk
	// Lang is the chat formats' language (English when ""); Langs, a
	// receiver's own, by its URL.
	Lang  string
	Langs map[string]string
	// Secret signs each delivery: json carries X-ECS-Dashboard-Signature
	// (sha256=hex HMAC of the body); dingtalk signs the URL as DingTalk
	// documents (timestamp and sign parameters). Slack has no signing.
	Secret []byte
	Logger *slog.Logger
	// Outcome, when set, counts each delivery's end: delivered, failed
	// (retries ran out) or dropped (the queue was full).
	Outcome func(outcome string)
	// Bounds; zero values take the defaults.
	Timeout     time.Duration // one POST; 5s
	MaxAttempts int           // per URL and message; 6
	BaseDelay   time.Duration // doubled each retry, jittered; 1s
	MaxElapsed  time.Duration // per URL and message, retries included; 2 minutes
	Queue       int           // messages waiting; 1000
	Workers     int           // deliveries at once; 4
	Client      *http.Client
	Now         func() time.Time
}

// Notifier queues messages and delivers them in the background.
type Notifier struct {
	o     Options
	queue chan job
	wg    sync.WaitGroup
}

type job struct {
	url string
	msg Message
}

// ValidFormat reports whether f is a format.
func ValidFormat(f string) bool { return f == FormatJSON || f == FormatSlack || f == FormatDingTalk }

// New builds a Notifier; call Run to deliver.
func New(o Options) *Notifier {
	if o.Format == "" {
		o.Format = FormatJSON
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxElapsed <= 0 {
		o.MaxElapsed = 2 * time.Minute
	}
	if o.Queue <= 0 {
		o.Queue = 1000
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Outcome == nil {
		o.Outcome = func(string) {}
	}
	return &Notifier{o: o, queue: make(chan job, o.Queue)}
}

// Send queues m for every URL and returns at once; when the queue is full
// the message is dropped (and logged and counted).
func (n *Notifier) Send(m Message) {
	for _, u := range n.o.URLs {
		select {
		case n.queue <- job{u, m}:
		default:
			n.o.Logger.Warn("notification dropped: the queue is full", "event", m.Event, "operation", m.OperationID, "url", redact(u))
			n.o.Outcome("dropped")
		}
	}
}

// Run delivers until ctx ends; it returns once the workers have stopped.
func (n *Notifier) Run(ctx context.Context) {
	for range n.o.Workers {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-n.queue:
					n.deliver(ctx, j)
				}
			}
		}()
	}
	n.wg.Wait()
}

// deliver POSTs one message to one URL, retrying failures (a network error,
// 429 or 5xx) with backoff within MaxAttempts and MaxElapsed.
func (n *Notifier) deliver(ctx context.Context, j job) {
	began := n.o.Now()
	var last string
	for attempt := 1; attempt <= n.o.MaxAttempts; attempt++ {
		status, err := n.post(ctx, j)
		switch {
		case err == nil && status/100 == 2:
			n.o.Logger.Info("notification delivered", "event", j.msg.Event, "operation", j.msg.OperationID, "url", redact(j.url), "attempt", attempt)
			n.o.Outcome("delivered")
			return
		case err == nil && status/100 == 4 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
			last = fmt.Sprintf("the receiver refused it (HTTP %d)", status)
			attempt = n.o.MaxAttempts // a refusal will not change by asking again
			continue
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("HTTP %d", status)
		}
		delay := n.o.BaseDelay << (attempt - 1)
		delay = delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
		if attempt == n.o.MaxAttempts || n.o.Now().Sub(began)+delay > n.o.MaxElapsed {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	n.o.Logger.Warn("notification not delivered", "event", j.msg.Event, "operation", j.msg.OperationID, "url", redact(j.url), "err", last)
	n.o.Outcome("failed")
}

func (n *Notifier) post(ctx context.Context, j job) (int, error) {
	body, target, header, err := n.render(j)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, n.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ecs-dashboard")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := n.o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// render makes the request body, URL and headers of one delivery.
func (n *Notifier) render(j job) (body []byte, target string, header map[string]string, err error) {
	target, header = j.url, map[string]string{}
	lang := n.o.Lang
	if l, ok := n.o.Langs[j.url]; ok {
		lang = l
	}
	switch n.o.Format {
	case FormatSlack:
		body, err = chatBody(n.o.Format, j.msg, lang)
	case FormatDingTalk:
		body, err = chatBody(n.o.Format, j.msg, lang)
		if len(n.o.Secret) > 0 {
			target = dingTalkSigned(j.url, n.o.Secret, n.o.Now())
		}
	default:
		m := j.msg
		if m.EventID == "" {
			m.EventID = EventID(m)
		}
		body, err = json.Marshal(m)
		header["X-ECS-Dashboard-Event-Id"] = m.EventID
		if len(n.o.Secret) > 0 {
			ts := strconv.FormatInt(n.o.Now().Unix(), 10)
			header["X-ECS-Dashboard-Timestamp"] = ts
			header["X-ECS-Dashboard-Signature"] = "t=" + ts + ",sha256=" + SignEvent(n.o.Secret, ts, m.EventID, body)
		}
	}
	return body, target, header, err
}

// Sign is the hex HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// SignEvent is what the json format's X-ECS-Dashboard-Signature carries
// after "sha256=": the hex HMAC-SHA256 under secret of the delivery's
// timestamp (Unix seconds, as in X-ECS-Dashboard-Timestamp and the
// header's "t="), the event id (X-ECS-Dashboard-Event-Id), and the body,
// joined by ".". A receiver recomputes it, refuses a timestamp more than a
// few minutes from its clock (a captured delivery replays only that long)
// and drops an event id it has seen (docs/reliability.md).
func SignEvent(secret []byte, timestamp, eventID string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "." + eventID + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// EventID is m's stable id: its audit entry and its event (one entry may
// carry two events, an approval that failed at once).
func EventID(m Message) string { return strconv.FormatInt(m.AuditID, 10) + "." + m.Event }

// dingTalkSigned adds DingTalk's signature to a robot's webhook URL: the
// millisecond timestamp and base64(HMAC-SHA256(secret, timestamp+"\n"+secret)).
func dingTalkSigned(raw string, secret []byte, now time.Time) string {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "\n" + string(secret)))
	sign := base64.StdEncoding.EncodeToString(m.Sum(nil))
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", sign)
	u.RawQuery = q.Encode()
	return u.String()
}

// Text is the message in words, for chat formats: one line, its fields
// cleaned and capped (see cleaned); each format escapes it for its markup.
func Text(m Message) string { return TextIn(m, i18n.English) }

// Events are the events a chat text says in words of its own.
var Events = []string{"awaiting_approval", "approved", "rejected", "withdrawn", "expired", "succeeded", "failed", "unknown"}

// TextIn is Text in a language (a receiver's, --notify-url URL#lang=zh-CN).
func TextIn(m Message, lang string) string {
	l := i18n.For(lang)
	m = cleaned(m)
	inst := m.InstanceID
	if m.InstanceName != "" {
		inst = l.T("notify.instance", "Name", m.InstanceName, "ID", m.InstanceID, "Region", m.Region)
	}
	what := l.T("notify.start_of", "Instance", inst)
	if m.InitLocalDisk {
		what = l.T("notify.start_of_wipe", "Instance", inst)
	}
	data := []any{"What", what, "Requester", m.Requester, "Approver", m.Approver, "Op", m.OperationID, "RequestID", m.RequestID,
		"Error", strings.TrimSpace(m.ErrorCode + " " + m.RequestID), "Event", m.Event}
	var s string
	if slices.Contains(Events, m.Event) {
		s = l.T("notify.event."+m.Event, data...)
	} else {
		s = l.T("notify.event_other", data...)
	}
	if m.Reason != "" {
		reason := m.Reason
		if m.ReasonWords != nil {
			reason = oneLine(m.ReasonWords.In(l), maxReasonChars)
		}
		s += l.T("notify.reason", "Reason", reason)
	}
	if m.URL != "" {
		s += " " + m.URL
	}
	return s
}

// redact keeps a webhook URL's scheme, host and path for the log: robot
// URLs carry their token in the query.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return u.String()
}
