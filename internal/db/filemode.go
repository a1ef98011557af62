package db

import (
	"errors"
	"fmt"
	"os"
)

// private makes an existing SQLite database, and its -wal and -shm files,
// readable and writable by their owner only: the file holds password hashes
// and the audit log, and SQLite gives the -wal and -shm files it creates
// the database file's mode (a 0666 database made them 0666 too). A file
// that cannot be tightened (another user's) is refused in words.
func private(file string) error {
	for _, p := range []string{file, file + "-wal", file + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, mode&0o700); err != nil {
			return fmt.Errorf("%s is open to other users (mode %04o) and could not be made private (%w); it holds password hashes and the audit log: run chmod 600 on it (and on its -wal and -shm files), then start again", p, mode, err)
		}
	}
	return nil
}
