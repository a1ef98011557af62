package notify

import (
	"encoding/json"
	"strings"
	"unicode"
)

// A text from a user (a reason, a name) is data in a chat message: it must
// not mention a channel, show a link whose text hides its target, fake a
// line of its own, reorder what follows it, or fill the room. Each field is
// cleaned (one line, no control, bidi or invisible characters) and capped
// before the words are put together; Slack's text is then escaped as Slack
// documents (&, < and >, so <!channel> and <url|text> are shown, not acted
// on) and sent without mrkdwn. DingTalk's "text" message has no markup.

// Caps on what a user wrote, in characters.
const (
	maxReasonChars = 300
	maxNameChars   = 128
	maxFieldChars  = 64
)

// cleaned is m with every text field made one printable line and capped.
func cleaned(m Message) Message {
	m.Reason = oneLine(m.Reason, maxReasonChars)
	m.InstanceName = oneLine(m.InstanceName, maxNameChars)
	for _, f := range []*string{&m.Event, &m.InstanceID, &m.Region, &m.Requester, &m.Approver, &m.RequestID, &m.ErrorCode} {
		*f = oneLine(*f, maxFieldChars)
	}
	m.URL = oneLine(m.URL, 2048)
	return m
}

// oneLine drops control, format (bidi overrides and isolates, zero-width
// characters) and separator characters other than the space, turns each run
// of whitespace into one space, and caps s at max characters.
func oneLine(s string, max int) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if n == max {
			b.WriteString("…")
			return b.String()
		}
		if space {
			b.WriteByte(' ')
			n, space = n+1, false
			if n == max {
				b.WriteString("…")
				return b.String()
			}
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// slackEscape escapes the three characters Slack reads as markup.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// SlackText is the message as a Slack-compatible webhook's text, in lang.
func SlackText(m Message, lang string) string { return slackEscape.Replace(TextIn(m, lang)) }

// DingTalkText is the message as a DingTalk robot's text content, in lang.
func DingTalkText(m Message, lang string) string { return TextIn(m, lang) }

// chatBody is the JSON body of a chat format's delivery.
func chatBody(format string, m Message, lang string) ([]byte, error) {
	if format == FormatSlack {
		return json.Marshal(map[string]any{"text": SlackText(m, lang), "mrkdwn": false})
	}
	return json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": DingTalkText(m, lang)}})
}
