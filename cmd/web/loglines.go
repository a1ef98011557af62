package main

import (
	"io"
	"sync"
	"time"
)

// logLines is the server's log as written to stderr. The access log's
// lines of requests that did not fail wait in memory, at most
// requestLogDelay or requestLogSize bytes, and go out together in one
// write: written one by one they cost a system call each, and a page view's
// line was the largest part of its CPU left that is the dashboard's own
// (issue 32). Every other line (a failure's, a warning, the audit
// checkpoints, the lifecycle) is written at once, after the lines waiting
// before it, so the log keeps the order the lines were made in and only
// request lines can wait. Close writes what waits; lines after it are
// written at once. If the process dies without serve returning, the
// request lines of the last requestLogDelay can be lost, never another.
type logLines struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	armed  bool // a timer will write buf
	closed bool
	after  func(time.Duration, func()) *time.Timer // time.AfterFunc
}

const (
	requestLogDelay = 50 * time.Millisecond
	requestLogSize  = 64 << 10
)

func newLogLines(w io.Writer) *logLines { return &logLines{w: w, after: time.AfterFunc} }

// soon is the writer of lines that may wait.
func (l *logLines) soon() io.Writer { return soonWriter{l} }

// now is the writer of lines written at once.
func (l *logLines) now() io.Writer { return nowWriter{l} }

type soonWriter struct{ l *logLines }

func (s soonWriter) Write(p []byte) (int, error) {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	if len(l.buf)+len(p) > requestLogSize {
		l.writeLocked(nil)
	}
	l.buf = append(l.buf, p...)
	if !l.armed {
		l.armed = true
		l.after(requestLogDelay, l.flush)
	}
	return len(p), nil
}

type nowWriter struct{ l *logLines }

func (n nowWriter) Write(p []byte) (int, error) {
	n.l.mu.Lock()
	defer n.l.mu.Unlock()
	if err := n.l.writeLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLocked writes the waiting lines and then p, in one write. A failed
// write loses them, as a line written alone is lost.
func (l *logLines) writeLocked(p []byte) error {
	if len(l.buf) == 0 {
		if len(p) == 0 {
			return nil
		}
		_, err := l.w.Write(p)
		return err
	}
	l.buf = append(l.buf, p...)
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}

// flush is the timer's: it writes the lines that wait.
func (l *logLines) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = false
	l.writeLocked(nil)
}

// Close writes the lines that wait; later lines are written at once.
func (l *logLines) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.writeLocked(nil)
}
