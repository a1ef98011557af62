package db

import (
	"runtime/debug"
	"sync/atomic"
	"unsafe"
)

// walIndex is the start of a WAL database's -shm file, mapped read-only:
// its WAL-index header, two copies of 48 bytes
// (https://sqlite.org/walformat.html, "The WAL-Index Header"). Every
// commit, by any connection of any process, rewrites the header before
// it returns: the second copy, a barrier, then the first. A header
// unchanged since a read therefore says that nothing has committed since,
// which is how SQLite itself decides that a connection's page cache is
// still the database (walIndexTryHdr). A Lookup uses it to answer a key
// it asked since then without a read transaction.
//
// The mapping is read only while the reader holds one of its Lookup's
// connections: that connection has the -shm open (a shared lock on its
// DMS byte), so no process can truncate and rebuild it under the mapping,
// and (holding a SHARED lock on the database file, as SQLite's WAL
// connections do for their lifetime) none can take the database out of
// WAL mode.
type walIndex struct {
	words *[2 * walHeaderWords]uint32
}

// walHeaderWords is a WAL-index header's length in 32-bit words.
const walHeaderWords = 12

// walHeader is one copy of the WAL-index header, as it lies in memory.
type walHeader [walHeaderWords]uint32

// walIndexVersion is the header's iVersion since SQLite 3.7.0.
const walIndexVersion = 3007000

// header reads the header; ok when its two copies agree, it is initialised
// and something has committed since it was built (otherwise a writer is
// between its two copies, or no connection has built the index yet, or
// one rebuilt it from the WAL file: ask the database). A rebuilt header
// (SQLite's recovery, when a process finds the -shm unused or torn)
// starts its change counter, iChange, again at 0: rebuilt from an empty
// WAL it is the same bytes every time, whatever committed in between, so
// that one from before a commit could come back after it. Every commit
// adds one to iChange, and nothing else takes it back to 0.
//
// The -shm cut below its first page under the mapping (by a tool or a
// person: SQLite never does while a connection has it open) makes the read
// fault: that is a header not ok, and the query that follows fails on the
// same fault as SQLite's own reads of the -shm do (the driver's
// SQLITE_IOERR_IN_PAGE), rather than the process dying of SIGBUS.
func (w *walIndex) header() (h walHeader, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	for i := range h {
		h[i] = atomic.LoadUint32(&w.words[i])
	}
	for i := range h {
		if atomic.LoadUint32(&w.words[walHeaderWords+i]) != h[i] {
			return h, false
		}
	}
	isInit := (*[4 * walHeaderWords]byte)(unsafe.Pointer(&h))[12] // after iVersion, unused, iChange
	return h, h[0] == walIndexVersion && isInit == 1 && h[walIChange] != 0
}

// walIChange is the header's iChange, in words.
const walIChange = 2
