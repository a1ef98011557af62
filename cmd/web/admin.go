package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"ecsdash/internal/audit"
	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/secrets"
	"ecsdash/internal/users"
)

// subFlags parses "--db PATH [--role ROLE] [--format F] [NAME]" for the
// admin subcommands; flags may come before or after the name.
type subFlags struct {
	db, role, format string
	keyFile, head    string // audit verify
	args             []string
}

func parseSub(name string, args []string, stderr io.Writer, withRole, withFormat bool) (subFlags, error) {
	var f subFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.db, "db", "./ecs-dashboard.db", "the store: a SQLite file, or a postgres:// DSN")
	if withRole {
		fs.StringVar(&f.role, "role", "", "viewer, operator, approver or admin")
	}
	if withFormat {
		fs.StringVar(&f.format, "format", "csv", "csv or json")
	}
	if name == "web audit verify" {
		fs.StringVar(&f.keyFile, "audit-key-file", "", "the audit chain's key (default: beside the database)")
		fs.StringVar(&f.head, "head", "", "a head noted earlier, SEQ:HASH (from a checkpoint or an earlier verify): the log must still reach it")
	}
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return f, err
		}
		if fs.NArg() == 0 {
			break
		}
		f.args = append(f.args, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	return f, nil
}

func openDB(ctx context.Context, path string) (*db.DB, error) { return db.Open(ctx, path) }

// verifyCmd walks the chain with the audit key (when its file exists) and,
// with --head, checks that the log still reaches a head noted earlier.
// Exit 1 names the first bad entry.
func verifyCmd(ctx context.Context, store *db.DB, f subFlags, stdout io.Writer) error {
	var noted audit.Head
	if f.head != "" {
		seq, hash, ok := strings.Cut(f.head, ":")
		n, err := strconv.ParseInt(seq, 10, 64)
		if !ok || err != nil || n < 1 || hash == "" {
			return fmt.Errorf("--head wants SEQ:HASH as a checkpoint or verify printed it, got %q", f.head)
		}
		noted = audit.Head{Seq: n, Hash: hash}
	}
	keyFile := f.keyFile
	if keyFile == "" {
		keyFile = config.DefaultAuditKeyFile(f.db)
	}
	var keys *audit.Keys
	if b, err := secrets.Load(keyFile, "audit key file", nil); err == nil {
		if keys, err = audit.ParseKeys(b); err != nil {
			return fmt.Errorf("%s: %w", keyFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) || f.keyFile != "" {
		return err
	}
	head, n, err := audit.Verify(ctx, store.Read, keys)
	var bad *audit.BadEvent
	if errors.As(err, &bad) {
		fmt.Fprintf(stdout, "TAMPERED: entry %d: %s\n", bad.Seq, bad.Reason)
		fmt.Fprintf(stdout, "the %d entries before it are intact; last good entry %d %s\n", n, head.Seq, head.Hash)
		return exitCode(1)
	}
	var badFold *audit.BadFold
	if errors.As(err, &badFold) {
		fmt.Fprintf(stdout, "TAMPERED: %s\n", badFold)
		fmt.Fprintf(stdout, "the chain's %d entries are intact (head %d %s), but the table the pages, the approval queue and the export read is not their fold\n", n, head.Seq, head.Hash)
		return exitCode(1)
	}
	if errors.Is(err, audit.ErrNoKey) {
		fmt.Fprintf(stdout, "NOT VERIFIED: %v\n", err)
		fmt.Fprintf(stdout, "the %d entries before it are intact; give the audit key file (--audit-key-file) to check the rest\n", n)
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	if noted.Seq != 0 {
		if err := audit.Reaches(ctx, store.Read, noted); errors.As(err, &bad) {
			fmt.Fprintf(stdout, "TAMPERED: entry %d: %s\n", bad.Seq, bad.Reason)
			fmt.Fprintf(stdout, "the chain itself is consistent up to %d %s, but it is not the log that was noted\n", head.Seq, head.Hash)
			return exitCode(1)
		} else if err != nil {
			return err
		}
	}
	keyed := "plain SHA-256 chain (no audit key)"
	if keys != nil {
		keyed = "keyed chain checked with " + keyFile
	}
	fmt.Fprintf(stdout, "intact: %d entries; %s; head %d:%s\n", n, keyed, head.Seq, head.Hash)
	return nil
}

func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (its first line)")
	}
	return line, nil
}

func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("user: which? add, list, disable, enable, set-role, passwd")
	}
	sub := args[0]
	f, err := parseSub("web user "+sub, args[1:], stderr, sub == "add" || sub == "set-role", false)
	if err != nil {
		return err
	}
	needName := sub != "list"
	if needName && len(f.args) != 1 {
		return fmt.Errorf("user %s: give exactly one user name", sub)
	}
	store, err := openDB(ctx, f.db)
	if err != nil {
		return err
	}
	defer store.Close()
	us := users.NewStore(store.Write, store.Read, nil, 0)
	switch sub {
	case "add":
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		u, err := us.Create(ctx, f.args[0], f.role, pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (%s)\n", u.Name, u.Role)
	case "list":
		list, err := us.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSOURCE\tROLE\tSTATUS\tCREATED")
		for _, u := range list {
			st := "active"
			if u.Disabled {
				st = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Source, u.Role, st, u.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	case "disable", "enable":
		if err := us.SetDisabled(ctx, f.args[0], sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%sd %s\n", sub, f.args[0])
	case "set-role":
		if err := us.SetRole(ctx, f.args[0], f.role); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now %s\n", f.args[0], f.role)
	case "passwd":
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if err := us.SetPassword(ctx, f.args[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password changed for %s\n", f.args[0])
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown user command %q", sub)
	}
	return nil
}

func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("audit: which? verify or export")
	}
	sub := args[0]
	f, err := parseSub("web audit "+sub, args[1:], stderr, false, sub == "export")
	if err != nil {
		return err
	}
	store, err := openDB(ctx, f.db)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "verify":
		return verifyCmd(ctx, store, f, stdout)
	case "export":
		if f.format != "csv" && f.format != "json" {
			return fmt.Errorf("--format must be csv or json")
		}
		w := bufio.NewWriter(stdout)
		if err := audit.New(store.Write, store.Read, nil).Export(ctx, w, f.format, audit.Filter{}); err != nil {
			return err
		}
		return w.Flush()
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown audit command %q", sub)
	}
}
