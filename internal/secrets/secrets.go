// Package secrets reads and creates the files that hold the dashboard's
// keys (session keys, the audit chain's key): created 0600 when missing,
// and refused when an existing one is a link, not a regular file, readable
// by group or others, or owned by another user.
package secrets

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Private checks that the file at path is one only its owner, this
// process's user, can read. what names it in the error ("session key file").
func Private(path, what string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return check(path, what, st)
}

func check(path, what string, st os.FileInfo) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a regular file (%s); keys are read only from a regular file", what, path, st.Mode().Type())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s %s can be read by group or others (mode %04o); make it private: chmod 600 %s", what, path, perm, path)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("%s %s belongs to user id %d, not to the user the dashboard runs as (%d); chown it or run as its owner", what, path, sys.Uid, os.Geteuid())
	}
	return nil
}

// Load returns the contents of the key file at path after checking it is
// private; when it is missing, it is created 0600 with fresh() (with fresh
// nil, a missing file is an error satisfying errors.Is(err, os.ErrNotExist)).
func Load(path, what string, fresh func() []byte) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) && fresh != nil {
		if err := create(path, fresh()); err != nil {
			return nil, fmt.Errorf("create %s %s: %w", what, path, err)
		}
		f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := check(path, what, st); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// Create makes a new private file at path holding b; it fails when one
// exists.
func create(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CreateEmpty makes path an empty private file unless it exists, so that
// a program which creates it later (SQLite) inherits the mode 0600.
func CreateEmpty(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
