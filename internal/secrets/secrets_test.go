package secrets_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecsdash/internal/secrets"
)

func TestAMissingKeyFileIsCreatedPrivate(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "keys")
	b, err := secrets.Load(p, "key file", func() []byte { return []byte("fresh") })
	if err != nil || string(b) != "fresh" {
		t.Fatalf("%q %v", b, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("created %04o", st.Mode().Perm())
	}
	if b, err := secrets.Load(p, "key file", func() []byte { return []byte("other") }); err != nil || string(b) != "fresh" {
		t.Fatalf("an existing file was replaced: %q %v", b, err)
	}
}

func TestAKeyFileOthersCanReadIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("k"), 0o644)
	os.Chmod(open, 0o644) // whatever the umask
	if _, err := secrets.Load(open, "audit key file", nil); err == nil || !strings.Contains(err.Error(), "chmod 600 "+open) {
		t.Fatalf("a 0644 key file: %v", err)
	}
	link := filepath.Join(dir, "link")
	private := filepath.Join(dir, "private")
	os.WriteFile(private, []byte("k"), 0o600)
	os.Symlink(private, link)
	if _, err := secrets.Load(link, "session key file", nil); err == nil {
		t.Fatal("a key file behind a symbolic link was read")
	}
	if err := secrets.Private(link, "session key file"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Private on a link: %v", err)
	}
}

func TestAKeyFileOfAnotherUserIsRefused(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "theirs")
	os.WriteFile(p, []byte("k"), 0o600)
	if err := os.Chown(p, os.Geteuid()+1, -1); err != nil {
		t.Skipf("cannot give the file to another user here (not root): %v", err)
	}
	if _, err := secrets.Load(p, "session key file", nil); err == nil || !strings.Contains(err.Error(), "belongs to user id") {
		t.Fatalf("another user's key file: %v", err)
	}
}

func TestCreateEmptyMakesAPrivateFileAndKeepsAnExistingOne(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "db")
	if err := secrets.CreateEmpty(p); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("%04o", st.Mode().Perm())
	}
	os.WriteFile(p, []byte("data"), 0o600)
	secrets.CreateEmpty(p)
	if b, _ := os.ReadFile(p); string(b) != "data" {
		t.Fatal("an existing file was emptied")
	}
}
