package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
)

// rechain rewrites every event from seq on as someone who can write the
// database but has no key would: change what they like, then recompute each
// hash with the chain's plain format so that every link holds again.
func rechain(t *testing.T, d *db.DB, log *audit.Log, from int64, change func(*audit.Event)) {
	t.Helper()
	ctx := context.Background()
	d.Write.Exec("DROP TRIGGER IF EXISTS audit_events_no_update")
	var all []audit.Event
	if err := log.Each(ctx, audit.Filter{}, func(e audit.Event) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	prev := audit.GenesisHash
	for _, e := range all {
		if e.Seq >= from {
			if change != nil {
				change(&e)
			}
			e.PrevHash = prev
			e.Hash = audit.Hash(e)
			if _, err := d.Write.Exec("UPDATE audit_events SET user = ?, prev_hash = ?, hash = ? WHERE seq = ?", e.User, e.PrevHash, e.Hash, e.Seq); err != nil {
				t.Fatal(err)
			}
		}
		prev = e.Hash
	}
}

func keyedLog(t *testing.T) (*db.DB, *audit.Log, *audit.Keys) {
	d, log, keys, _ := keyedLogFile(t)
	return d, log, keys
}

func keyedLogFile(t *testing.T) (*db.DB, *audit.Log, *audit.Keys, []byte) {
	t.Helper()
	d, log := openLog(t, "")
	ctx := context.Background()
	for range 3 { // written before the dashboard had a key
		log.Append(ctx, audit.Event{Action: audit.ActionLogin, User: "early", State: audit.StateSucceeded})
	}
	file := audit.NewKeyFile()
	keys, err := audit.ParseKeys(file)
	if err != nil {
		t.Fatal(err)
	}
	log.UseKeys(keys)
	if err := log.EnsureKeyed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := log.EnsureKeyed(ctx); err != nil { // once is enough
		t.Fatal(err)
	}
	for range 4 {
		log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "olivia", InstanceID: "i-a", State: audit.StateSucceeded})
	}
	return d, log, keys, file
}

func TestTheKeyedChainStartsAtAMarkAndVerifies(t *testing.T) {
	t.Parallel()
	d, _, keys := keyedLog(t)
	head, n, err := audit.Verify(context.Background(), d.Read, keys)
	if err != nil || n != 8 || !strings.HasPrefix(head.Hash, "hmac-sha256:"+keys.SigningID()+":") {
		t.Fatalf("head %+v, %d events: %v", head, n, err)
	}
	ops, _, _ := audit.New(d.Write, d.Read, nil).Operations(context.Background(), audit.Filter{Action: audit.ActionChainKeyed})
	if len(ops) != 1 || ops[0].ID() != 4 {
		t.Fatalf("the mark: %+v", ops)
	}
	if _, _, err := audit.Verify(context.Background(), d.Read, nil); !errors.Is(err, audit.ErrNoKey) {
		t.Fatalf("without the key: %v, want ErrNoKey", err)
	}
	other, _ := audit.ParseKeys(audit.NewKeyFile())
	var bad *audit.BadEvent
	if _, _, err := audit.Verify(context.Background(), d.Read, other); !errors.As(err, &bad) || bad.Seq != 4 {
		t.Fatalf("with another key: %v", err)
	}
}

// Finding 6: someone who can write the database edits a keyed entry and
// recomputes every hash after it: the plain hashes after the keyed chain
// began give it away, at the entry edited.
func TestARewriteWithoutTheKeyIsShown(t *testing.T) {
	t.Parallel()
	d, log, keys := keyedLog(t)
	rechain(t, d, log, 6, func(e *audit.Event) {
		if e.Seq == 6 {
			e.User = "mallory"
		}
	})
	var bad *audit.BadEvent
	if _, _, err := audit.Verify(context.Background(), d.Read, keys); !errors.As(err, &bad) || bad.Seq != 6 {
		t.Fatalf("a rewritten keyed entry: %v", err)
	}
}

// ... and rewriting the whole log in the plain format, mark included, is
// shown too: an audit key exists, yet nothing is keyed. Without the key
// (round three, finding 8: it passed), the log's own mark says it is keyed,
// so verify cannot vouch for it.
func TestADowngradeOfTheWholeLogIsShown(t *testing.T) {
	t.Parallel()
	d, log, keys := keyedLog(t)
	rechain(t, d, log, 1, nil)
	if _, n, err := audit.Verify(context.Background(), d.Read, nil); !errors.Is(err, audit.ErrNoKey) || n != 3 || !strings.Contains(err.Error(), "entry 4 marks the chain as keyed") {
		t.Fatalf("the rewritten log without the key: %d entries vouched for, %v; want 3 and ErrNoKey naming the mark", n, err)
	}
	var bad *audit.BadEvent
	if _, _, err := audit.Verify(context.Background(), d.Read, keys); !errors.As(err, &bad) || !strings.Contains(bad.Reason, "no entry is keyed") {
		t.Fatalf("a downgraded log with the key: %v", err)
	}
}

// Cutting the last entries leaves a consistent chain: a checkpoint (or a
// head) noted before shows it.
func TestATruncationIsShownByANotedCheckpoint(t *testing.T) {
	t.Parallel()
	d, log, keys := keyedLog(t)
	cp, err := log.Checkpoint(context.Background())
	if err != nil || cp.Seq != 8 || !strings.HasPrefix(cp.Signature, keys.SigningID()+":") {
		t.Fatalf("checkpoint %+v: %v", cp, err)
	}
	if err := audit.Reaches(context.Background(), d.Read, audit.Head{Seq: cp.Seq, Hash: cp.Hash}); err != nil {
		t.Fatalf("the intact log does not reach its own checkpoint: %v", err)
	}
	d.Write.Exec("DROP TRIGGER audit_events_no_delete")
	d.Write.Exec("DELETE FROM audit_events WHERE seq > 6")
	d.Write.Exec("DROP TRIGGER audit_ops_no_delete") // and the fold, cut alike
	d.Write.Exec("DELETE FROM audit_ops WHERE op_id > 6")
	if _, _, err := audit.Verify(context.Background(), d.Read, keys); err != nil {
		t.Fatalf("the cut chain is consistent in itself: %v", err)
	}
	var bad *audit.BadEvent
	if err := audit.Reaches(context.Background(), d.Read, audit.Head{Seq: cp.Seq, Hash: cp.Hash}); !errors.As(err, &bad) || bad.Seq != 8 {
		t.Fatalf("a truncated log against its checkpoint: %v", err)
	}
}

func TestKeyFilesAreReadWithRotation(t *testing.T) {
	t.Parallel()
	d, log, old, oldFile := keyedLogFile(t)
	// Rotation: a new key on the first line signs from a new mark; the old
	// one, kept below, still verifies what it signed.
	rotated, err := audit.ParseKeys(append(append(audit.NewKeyFile(), "# the key before\n"...), oldFile...))
	if err != nil || rotated.SigningID() == old.SigningID() {
		t.Fatal(err)
	}
	log.UseKeys(rotated)
	if err := log.EnsureKeyed(context.Background()); err != nil {
		t.Fatal(err)
	}
	log.Append(context.Background(), audit.Event{Action: audit.ActionLogin, User: "after", State: audit.StateSucceeded})
	if _, n, err := audit.Verify(context.Background(), d.Read, rotated); err != nil || n != 10 {
		t.Fatalf("after rotation: %d events: %v", n, err)
	}
	var bad *audit.BadEvent
	if _, _, err := audit.Verify(context.Background(), d.Read, old); !errors.As(err, &bad) || bad.Seq != 9 {
		t.Fatalf("without the new key: %v", err)
	}
	if _, err := audit.ParseKeys([]byte("not hex\n")); err == nil {
		t.Fatal("a malformed key file was accepted")
	}
}
