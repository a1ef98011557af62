// Package apperr carries application errors with a kind, so that one table
// (in the handlers) maps kinds to HTTP statuses and no handler picks a status
// by hand.
package apperr

import (
	"errors"
	"fmt"
	"strings"

	"ecsdash/internal/i18n"
)

// Kind classifies an error for the HTTP layer and for operators.
type Kind string

const (
	Invalid       Kind = "invalid"       // the request is malformed or fails validation
	Unprocessable Kind = "unprocessable" // well-formed, but refused as asked (e.g. confirmation mismatch)
	NotFound      Kind = "not_found"
	Conflict      Kind = "conflict"          // the resource's state forbids the action now
	Forbidden     Kind = "forbidden"         // authenticated, but not allowed
	Unauthorized  Kind = "unauthorized"      // not authenticated
	Unavailable   Kind = "unavailable"       // a dependency is down or busy; try again later
	BadGateway    Kind = "bad_gateway"       // a dependency refused the dashboard's own credentials
	Timeout       Kind = "timeout"           // a dependency did not answer: the outcome is unknown
	TooMany       Kind = "too_many_requests" // over a rate limit; try again after the time given
	Internal      Kind = "internal"
)

// Kinded is an error of another package that knows its application kind
// (ecs.Error maps ECS's kinds through its one table).
type Kinded interface {
	error
	AppKind() Kind
}

// Error is an error with a kind and a message fit to show an operator.
// Err holds the detail for the log and is never shown.
type Error struct {
	Kind    Kind
	Message string
	Err     error
	// Format and Args are what Message was made of: a page in another
	// language shows the format's translation with the same arguments.
	Format string
	Args   []any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind with a message for the operator.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// Wrap attaches an operator-facing message and kind to an underlying error.
func Wrap(err error, kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err, Format: format, Args: args}
}

// KindOf returns the kind of err: an *Error's, else a Kinded error's,
// Internal for anything else.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var k Kinded
	if errors.As(err, &k) {
		return k.AppKind()
	}
	return Internal
}

// MessageOf returns the operator-facing message of err; an error that is not
// an *Error (or is internal) is shown only as "Internal error."
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message
	}
	return "Internal error. The details are in the server log under this request's id."
}

// Words is MessageOf in l's language (and zone): the error's format
// translated with its arguments put in, each Said one in l's words.
// internal is the words for an internal error.
func Words(err error, l *i18n.Localizer, internal string) string {
	var e *Error
	if !errors.As(err, &e) || e.Kind == Internal {
		return internal
	}
	return WordsOf(err).In(l)
}

// WordsOf is MessageOf to say when shown: the error's format and
// arguments (i18n.Words), or its message as a sentence.
func WordsOf(err error) i18n.Said {
	var e *Error
	if !errors.As(err, &e) || e.Kind == Internal {
		return i18n.Word(MessageOf(err))
	}
	if e.Format == "%s" && len(e.Args) == 1 {
		if w, ok := e.Args[0].(i18n.Said); ok {
			return w
		}
		return i18n.Word(e.Message) // a sentence made elsewhere, passed on whole
	}
	if e.Format == "" {
		return i18n.Word(e.Message)
	}
	return i18n.Wordsf(e.Format, e.Args...)
}

// Said is an argument a sentence says in the reader's words too (i18n's).
type Said = i18n.Said

// Word is an English word said in the reader's language inside a sentence
// (i18n's).
type Word = i18n.Word

// Truncate cuts s to at most n bytes without splitting a character: for
// caller-controlled text that is stored or shown.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Quote shortens caller-controlled text quoted in a message.
func Quote(s string) string {
	if len(s) > 64 {
		return Truncate(s, 64) + "…"
	}
	return s
}
