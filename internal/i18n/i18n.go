// Package i18n holds the dashboard's message catalogues (one TOML file per
// language, embedded), chooses a language for a request, and formats times
// in a user's zone.
//
// Two kinds of message live in a catalogue. Page texts have short keys
// ("nav.instances") and are in every language's file. Sentences that
// services return in English (apperr messages, the ECS error table) are
// their own key, gettext-style, under [sentences] in each other language's
// file: the English is the code's, so it is never written twice.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zone names work on a machine without a zoneinfo database

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The languages, by the name <html lang> and the settings use.
const (
	English = "en"
	Chinese = "zh-CN"
)

// Languages lists every language offered, the default first.
var Languages = []string{English, Chinese}

var tags = []language.Tag{language.English, language.MustParse(Chinese)}

var matcher = language.NewMatcher(tags)

// sentencePrefix is the table of a catalogue that translates English
// sentences returned by services.
const sentencePrefix = "sentences."

//go:embed locales/*.toml
var files embed.FS

var (
	loadOnce sync.Once
	bundle   *goi18n.Bundle
	loadErr  error
	locs     map[string]*Localizer
)

// load reads the embedded catalogues once. They are part of the binary, so
// a failure is a bug that the package's tests catch.
func load() {
	bundle = goi18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, err := fs.Glob(files, "locales/*.toml")
	if err != nil {
		loadErr = err
		return
	}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			loadErr = err
			return
		}
		if _, err := bundle.ParseMessageFileBytes(b, n); err != nil {
			loadErr = fmt.Errorf("%s: %w", path.Base(n), err)
			return
		}
	}
	locs = map[string]*Localizer{}
	for _, l := range Languages {
		locs[l] = &Localizer{lang: l, l: goi18n.NewLocalizer(bundle, l)}
	}
}

// Load reports whether the catalogues load (for a start-up check and tests).
func Load() error {
	loadOnce.Do(load)
	return loadErr
}

// For is the localizer of lang (English for a language not offered).
func For(lang string) *Localizer {
	loadOnce.Do(load)
	if loadErr != nil {
		panic("i18n: catalogues do not load: " + loadErr.Error()) // embedded: a test fails first
	}
	if l, ok := locs[lang]; ok {
		return l
	}
	return locs[English]
}

// Valid is lang when it is a language offered, else "".
func Valid(lang string) string {
	for _, l := range Languages {
		if strings.EqualFold(l, lang) {
			return l
		}
	}
	return ""
}

// Negotiate is the language of a request: the user's choice when it names
// a language offered, else the best match of Accept-Language, else English.
// An Accept-Language seen before is answered from memory (negotiated).
func Negotiate(choice, acceptLanguage string) string {
	if l := Valid(choice); l != "" {
		return l
	}
	if acceptLanguage == "" {
		return English
	}
	if l, ok := negotiated.get(acceptLanguage); ok {
		return l
	}
	l := match(acceptLanguage)
	negotiated.put(acceptLanguage, l)
	return l
}

func match(acceptLanguage string) string {
	wanted, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(wanted) == 0 {
		return English
	}
	_, i, conf := matcher.Match(wanted...)
	if conf == language.No {
		return English
	}
	return Languages[i]
}

// negotiated keeps the language of each Accept-Language header seen: a
// browser sends the same one at every request, and parsing and matching it
// was a dozen allocations a page view. Bounded: at most maxNegotiated
// headers of at most maxNegotiatedLen bytes (past the first, it starts
// again; a longer header is matched each time).
var negotiated = negotiations{}

const (
	maxNegotiated    = 256
	maxNegotiatedLen = 256
)

type negotiations struct {
	mu sync.RWMutex
	m  map[string]string
}

func (n *negotiations) get(accept string) (string, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	l, ok := n.m[accept]
	return l, ok
}

func (n *negotiations) put(accept, lang string) {
	if len(accept) > maxNegotiatedLen {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil || len(n.m) >= maxNegotiated {
		n.m = make(map[string]string, maxNegotiated)
	}
	n.m[strings.Clone(accept)] = lang // not the request's header buffer
}

// Localizer gives a language's texts, and says times in a zone (UTC
// unless InZone gave one).
type Localizer struct {
	lang string
	l    *goi18n.Localizer
	zone *time.Location
}

// zoned holds the localizers InZone made, by language and zone name: at
// most the languages times the zones that load, so a page view makes none.
var zoned sync.Map // string -> *Localizer

// InZone is l saying times in loc (UTC when nil).
func (l *Localizer) InZone(loc *time.Location) *Localizer {
	if l == nil {
		l = For(English)
	}
	if loc == nil || ZoneName(loc) == "UTC" {
		if l.zone == nil {
			return l
		}
		return For(l.lang)
	}
	key := l.lang + "|" + loc.String()
	if z, ok := zoned.Load(key); ok {
		return z.(*Localizer)
	}
	z, _ := zoned.LoadOrStore(key, &Localizer{lang: l.lang, l: l.l, zone: loc})
	return z.(*Localizer)
}

// Zone is where l says times.
func (l *Localizer) Zone() *time.Location {
	if l == nil || l.zone == nil {
		return time.UTC
	}
	return l.zone
}

// Lang is the language's tag, as <html lang> takes it.
func (l *Localizer) Lang() string {
	if l == nil {
		return English
	}
	return l.lang
}

// T is the text of key, with data given as name, value pairs for the
// message's {{.Name}} fields. A key missing from the catalogue shows as the
// key itself, which the catalogue's tests look for in every page.
func (l *Localizer) T(key string, kv ...any) string {
	return l.localize(&goi18n.LocalizeConfig{MessageID: key, TemplateData: pairs(kv)}, key)
}

// N is the text of key for count n, in the language's plural form; the
// message reads the number as {{.Count}}.
func (l *Localizer) N(key string, n int, kv ...any) string {
	data := pairs(kv)
	if data == nil {
		data = map[string]any{}
	}
	data["Count"] = n
	return l.localize(&goi18n.LocalizeConfig{MessageID: key, PluralCount: n, TemplateData: data}, key)
}

func (l *Localizer) localize(c *goi18n.LocalizeConfig, key string) string {
	if l == nil {
		l = For(English)
	}
	// An error is a message missing in this language (go-i18n then falls
	// back to English): the key shows, so that tests see it.
	s, err := l.l.Localize(c)
	if err != nil || s == "" {
		return key
	}
	return s
}

// Sentence is an English sentence of a service in the language: its
// translation when the catalogue has one, else the English itself.
func (l *Localizer) Sentence(english string) string {
	if l == nil || l.lang == English || english == "" {
		return english
	}
	s, err := l.l.Localize(&goi18n.LocalizeConfig{MessageID: sentencePrefix + english})
	if err != nil || s == "" {
		return english
	}
	return s
}

// Sentencef is Sentence of a format, then the arguments put in, each Said
// one in l's words: the one way a format and its arguments become words
// (apperr.Words, starts.Answer.WhyIn, ecs.Error.SummaryIn come here). The
// translation keeps the English's verbs in its own order of words.
func (l *Localizer) Sentencef(format string, args ...any) string {
	if len(args) == 0 {
		return l.Sentence(format)
	}
	return fmt.Sprintf(l.Sentence(format), saidIn(l, args)...)
}

// saidIn is args with each Said one in l's words.
func saidIn(l *Localizer, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if w, ok := a.(Said); ok {
			a = w.In(l)
		}
		out[i] = a
	}
	return out
}

// Duration is d in whole units, the largest two, with the language's
// plural forms ("1m5s", "1 分钟 5 秒"); a zero second unit is left out
// ("1h", "1 小时", not "1 小时 0 分钟").
func (l *Localizer) Duration(d time.Duration) string {
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	sep := l.T("duration.sep")
	if sep == "duration.sep" {
		sep = "" // English's: go-i18n keeps no empty message, so it reads as missing
	}
	two := func(big string, n int, small string, k int) string {
		if k == 0 {
			return l.N(big, n)
		}
		return l.N(big, n) + sep + l.N(small, k)
	}
	switch {
	case h > 0:
		return two("duration.hours", h, "duration.minutes", m)
	case m > 0:
		return two("duration.minutes", m, "duration.seconds", sec)
	}
	return l.N("duration.seconds", sec)
}

func pairs(kv []any) map[string]any {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = kv[i+1]
	}
	return m
}

// zones holds the locations Zone has loaded, by name: only names that
// loaded, so it holds at most the zone database's few hundred, whatever
// names browsers send. A page view then reads no zone file.
var zones sync.Map // string -> *time.Location

// Zone is the location a user's zone name names. The name comes from a
// browser or a form: it must be an IANA name this binary knows ("Local"
// and "" are the server's, never a user's). The same name gives the same
// *time.Location, loaded once.
func Zone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "" || name == "Local" || len(name) > 64 || strings.ContainsAny(name, " \\") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("i18n: %q is not a time zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("i18n: %q is not a time zone name: %w", name, err)
	}
	got, _ := zones.LoadOrStore(name, loc)
	return got.(*time.Location), nil
}

// ZoneName is how a page names loc: its IANA name, "UTC" for UTC.
func ZoneName(loc *time.Location) string {
	if loc == nil || loc == time.UTC || loc.String() == "UTC" || loc.String() == "Etc/UTC" {
		return "UTC"
	}
	return loc.String()
}
