package handlers

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// An export streams the whole matching log; its client may read slowly or
// never. The log reads it in chunks without holding a connection while it
// writes (audit.Log.Export); here each write has a deadline, so a client
// that stops reading ends its export, and each user has a few at once.
const (
	maxExportsPerUser = 2
	exportWriteWait   = 30 * time.Second
)

// exportSlots counts each user's exports running.
type exportSlots struct {
	mu      sync.Mutex
	running map[string]int
}

// take reserves one of user's export slots; release gives it back.
func (s *exportSlots) take(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = map[string]int{}
	}
	if s.running[user] >= maxExportsPerUser {
		return false
	}
	s.running[user]++
	return true
}

func (s *exportSlots) release(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[user]--; s.running[user] <= 0 {
		delete(s.running, user)
	}
}

// deadlineWriter gives each write to the client exportWriteWait to go out.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.rc.SetWriteDeadline(time.Now().Add(exportWriteWait)); err != nil && err != http.ErrNotSupported {
		return 0, err
	}
	return d.w.Write(p)
}
