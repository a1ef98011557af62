package i18n

import (
	"fmt"
	"time"
)

// Said is an argument of a sentence that is said in the reader's words
// too: a status, a role's name, a time, a sentence inside a sentence.
// String is its English, with times in UTC (what logs, exports and the API
// carry, and what the audit log stores).
type Said interface {
	fmt.Stringer
	In(l *Localizer) string
}

// Word is an English word or sentence of a service said in the reader's
// language inside a sentence (an ECS status): its translation is the
// sentence catalogue's.
type Word string

func (w Word) String() string { return string(w) }

// In is the word in l's language.
func (w Word) In(l *Localizer) string { return l.Sentence(string(w)) }

// Words is a format and its arguments, put into words when they are shown:
// in English by String, in a reader's language and zone by In. A Words is
// itself Said, so a sentence can carry another.
type Words struct {
	Format string
	Args   []any
}

// Wordsf is format with args, said when shown.
func Wordsf(format string, args ...any) Words { return Words{Format: format, Args: args} }

// String is the words in English, times in UTC.
func (w Words) String() string {
	if len(w.Args) == 0 {
		return w.Format
	}
	return fmt.Sprintf(w.Format, w.Args...)
}

// In is the words in l's language and zone.
func (w Words) In(l *Localizer) string { return l.Sentencef(w.Format, w.Args...) }

// Moment is a time said in the reader's zone, the zone named: its Layout
// gives how much of it ("2006-01-02 15:04:05", "15:04:05", "2006-01-02").
type Moment struct {
	T      time.Time
	Layout string
}

// The layouts of moments in sentences.
const (
	LayoutMoment = "2006-01-02 15:04:05"
	LayoutClock  = "15:04:05"
	LayoutDay    = "2006-01-02"
)

// At is t to the second, Clock its time of day, Day its day: each in the
// reader's zone, named.
func At(t time.Time) Moment    { return Moment{t, LayoutMoment} }
func Clock(t time.Time) Moment { return Moment{t, LayoutClock} }
func Day(t time.Time) Moment   { return Moment{t, LayoutDay} }

// String is the moment in UTC, named: "2026-12-02 01:40:05 UTC".
func (m Moment) String() string { return m.T.UTC().Format(m.Layout) + " UTC" }

// In is the moment in l's zone, named: "2026-12-02 09:40:05 Asia/Shanghai".
func (m Moment) In(l *Localizer) string {
	z := l.Zone()
	return m.T.In(z).Format(m.Layout) + " " + ZoneName(z)
}

// Span is a duration said in the reader's units; String is Go's ("1m5s").
type Span time.Duration

func (s Span) String() string { return time.Duration(s).String() }

// In is the span in l's words, the largest two units.
func (s Span) In(l *Localizer) string { return l.Duration(time.Duration(s)) }
