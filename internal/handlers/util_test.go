package handlers_test

import (
	"io/fs"
	"os"
)

func statMode(p string) (fs.FileMode, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return st.Mode().Perm(), nil
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }
