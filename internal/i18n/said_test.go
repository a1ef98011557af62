package i18n_test

import (
	"testing"
	"time"

	"ecsdash/internal/apperr"
	"ecsdash/internal/i18n"
)

// One way to put a format and its arguments into words: Sentencef says
// each Said argument in the localizer's language and zone (a word, a
// sentence inside a sentence, a moment, a span), and apperr's words of an
// error are the same words.
func TestAFormatsArgumentsAreSaidInTheLocalizersLanguageAndZone(t *testing.T) {
	sh, err := i18n.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	zh := i18n.For(i18n.Chinese).InZone(sh)
	at := time.Date(2026, 12, 1, 23, 59, 58, 0, time.UTC)
	w := i18n.Wordsf("Seen %s at %s, %s after the call: the start most likely took effect (ECS's answer itself was never received).",
		i18n.Word("Running"), i18n.At(at), i18n.Span(90*time.Second))
	if got, want := w.In(zh), "实例状态为运行中（查看于 2026-12-02 07:59:58 Asia/Shanghai，调用后 1 分钟 30 秒）：启动很可能已生效（但始终未收到 ECS 的响应）。"; got != want {
		t.Errorf("in Chinese in Shanghai:\n got %q\nwant %q", got, want)
	}
	if got, want := w.String(), "Seen Running at 2026-12-01 23:59:58 UTC, 1m30s after the call: the start most likely took effect (ECS's answer itself was never received)."; got != want {
		t.Errorf("in English:\n got %q\nwant %q", got, want)
	}
	if got := w.In(i18n.For(i18n.English)); got != w.String() {
		t.Errorf("in English and UTC: %q, not its String %q", got, w.String())
	}
	nested := i18n.Wordsf("%s Approving now will fail.", i18n.Wordsf("Expired on %s", i18n.Day(at)))
	if got, want := nested.In(zh), "已于 2026-12-02 Asia/Shanghai 到期现在批准将会失败。"; got != want {
		t.Errorf("nested: %q, want %q", got, want)
	}
	err = apperr.New(apperr.Conflict, "Expired on %s — renew it first.", i18n.Day(at))
	if got, want := apperr.Words(err, zh, ""), zh.Sentencef("Expired on %s — renew it first.", i18n.Day(at)); got != want || got != "已于 2026-12-02 Asia/Shanghai 到期 — 请先续费。" {
		t.Errorf("apperr.Words %q, Sentencef %q", got, want)
	}
	if apperr.Words(err, i18n.For(i18n.English), "") != err.(*apperr.Error).Message {
		t.Errorf("in English: %q, the message %q", apperr.Words(err, i18n.For(i18n.English), ""), err.(*apperr.Error).Message)
	}
}
