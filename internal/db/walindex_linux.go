package db

import (
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// walIndexes are the -shm files mapped so far, one mapping for each file
// (by device and inode) for the process's life. Their descriptors are
// never closed: closing any descriptor of a file drops every POSIX lock
// the process holds on it, SQLite's own read and DMS locks included.
var walIndexes struct {
	sync.Mutex
	m    map[fileID]*walIndex
	open []*os.File      // held, so that no finalizer closes them
	fds  map[string]bool // their descriptors, as named in /proc/self/fd
}

type fileID struct{ dev, ino uint64 }

// openWalIndex is the mapping of database's -shm file, or nil when there
// is none to map (not in WAL mode, a database in memory, a file replaced
// while it was opened): the Lookup then asks the database at every call.
// The caller holds a connection that has read the database, so the -shm it
// finds by name is the one that connection uses, unless the name was given
// to another file since this process's SQLite opened its -shm (which it
// keeps while any of its connections has the database open): then nil.
func openWalIndex(database string) *walIndex {
	if database == "" {
		return nil
	}
	name := database + "-shm"
	id, ok := identify(os.Stat(name))
	if !ok {
		return nil
	}
	walIndexes.Lock()
	defer walIndexes.Unlock()
	if openElsewhere(name, id) {
		return nil
	}
	if w := walIndexes.m[id]; w != nil {
		return w
	}
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	walIndexes.open = append(walIndexes.open, f) // never closed (see walIndexes)
	if walIndexes.fds == nil {
		walIndexes.fds = map[string]bool{}
	}
	walIndexes.fds[strconv.FormatUint(uint64(f.Fd()), 10)] = true
	if got, ok := identify(f.Stat()); !ok || got != id {
		return nil // replaced in between: kept open, not used
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, os.Getpagesize(), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	w := &walIndex{words: (*[2 * walHeaderWords]uint32)(unsafe.Pointer(&b[0]))}
	if walIndexes.m == nil {
		walIndexes.m = map[fileID]*walIndex{}
	}
	walIndexes.m[id] = w
	return w
}

// openElsewhere says whether a descriptor of this process other than the
// mappings' own has a file that was opened as name and is not id (it was
// replaced or deleted since), or whether that cannot be told.
func openElsewhere(name string, id fileID) bool {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return true
	}
	for _, fd := range fds {
		if walIndexes.fds[fd.Name()] {
			continue
		}
		p := "/proc/self/fd/" + fd.Name()
		if t, err := os.Readlink(p); err != nil || t != name && t != name+" (deleted)" {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil && (fileID{uint64(st.Dev), st.Ino}) != id {
			return true
		}
	}
	return false
}

// identify is a file's device and inode, when fi says there is a regular
// file that holds at least the two header copies.
func identify(fi os.FileInfo, err error) (fileID, bool) {
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < 2*4*walHeaderWords {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}
