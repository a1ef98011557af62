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
	"ecsdash/internal/scope"
	"ecsdash/internal/secrets"
	"ecsdash/internal/users"
)

// subFlags parses "--db PATH [--role ROLE] [--format F] [NAME]" for the
// admin subcommands; flags may come before or after the name.
type subFlags struct {
	db, role, format string
	scope, user      string // user add/set-role, grant add
	group            string
	scopeSet         bool
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
		fs.Func("scope", "where the role holds: region=, tag:KEY=VALUE, resource-group=, account=, comma-separated (default: every instance)", func(v string) error {
			f.scope, f.scopeSet = v, true
			return nil
		})
	}
	if name == "web grant add" {
		fs.StringVar(&f.user, "user", "", "the user the grant is for")
		fs.StringVar(&f.group, "group", "", "the single sign-on group the grant is for (as the groups header names it)")
	}
	fs.StringVar(&f.keyFile, "audit-key-file", "", "the audit chain's key (default: beside the database)")
	if withFormat {
		fs.StringVar(&f.format, "format", "csv", "csv or json")
	}
	if name == "web audit verify" {
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
	keys, keyFile, err := auditKeys(f)
	if err != nil {
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

// auditKeys reads the audit chain's key file (--audit-key-file, or the one
// beside the database) when it exists: nil keys for a plain chain.
func auditKeys(f subFlags) (*audit.Keys, string, error) {
	keyFile := f.keyFile
	if keyFile == "" {
		keyFile = config.DefaultAuditKeyFile(f.db)
	}
	b, err := secrets.Load(keyFile, "audit key file", nil)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && f.keyFile == "" {
			return nil, keyFile, nil
		}
		return nil, keyFile, err
	}
	keys, err := audit.ParseKeys(b)
	if err != nil {
		return nil, keyFile, fmt.Errorf("%s: %w", keyFile, err)
	}
	return keys, keyFile, nil
}

// admin is the account changes of a command, each audited as "cli", in
// the chain the server keeps (keyed with its key when the key file is
// there).
func admin(store *db.DB, f subFlags) (users.Admin, error) {
	keys, _, err := auditKeys(f)
	if err != nil {
		return users.Admin{}, err
	}
	log := audit.New(store.Write, store.Read, nil)
	if keys != nil {
		log.UseKeys(keys)
	}
	return users.Admin{Store: users.NewStore(store.Write, store.Read, nil, 0), Log: log}, nil
}

// parseScope reads --scope at the edge, with the reason when it is wrong.
func parseScope(f subFlags) (scope.Scope, error) {
	sc, err := scope.Parse(f.scope)
	if err != nil {
		return scope.Scope{}, fmt.Errorf("--scope: %w", err)
	}
	return sc, nil
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
	if sub == "set-role" && len(f.args) == 2 && f.role == "" { // set-role NAME ROLE
		f.role, f.args = f.args[1], f.args[:1]
	}
	needName := sub != "list"
	if needName && len(f.args) != 1 {
		return fmt.Errorf("user %s: give exactly one user name", sub)
	}
	sc, err := parseScope(f)
	if err != nil {
		return err
	}
	if err := users.CheckGrant(f.role, sc); f.role != "" && err != nil {
		return err
	}
	store, err := openDB(ctx, f.db)
	if err != nil {
		return err
	}
	defer store.Close()
	adm, err := admin(store, f)
	if err != nil {
		return err
	}
	us := adm.Store
	switch sub {
	case "add":
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		u, err := adm.AddUser(ctx, users.CLI, f.args[0], f.role, sc, pw)
		if err != nil {
			return err
		}
		if u.Scope.IsAll() {
			fmt.Fprintf(stdout, "created %s (%s)\n", u.Name, u.Role)
		} else {
			fmt.Fprintf(stdout, "created %s (%s over %s)\n", u.Name, u.Role, u.Scope)
		}
	case "list":
		list, err := us.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSOURCE\tROLE\tSCOPE\tSTATUS\tCREATED")
		for _, u := range list {
			st := "active"
			if u.Disabled {
				st = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Source, u.Role, u.Scope.Words(), st, u.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	case "disable", "enable":
		if err := adm.SetDisabled(ctx, users.CLI, f.args[0], sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%sd %s\n", sub, f.args[0])
	case "set-role":
		if err := adm.SetRole(ctx, users.CLI, f.args[0], f.role, sc); err != nil {
			return err
		}
		if sc.IsAll() {
			fmt.Fprintf(stdout, "%s is now %s\n", f.args[0], f.role)
		} else {
			fmt.Fprintf(stdout, "%s is now %s over %s\n", f.args[0], f.role, sc)
		}
	case "passwd":
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if err := adm.SetPassword(ctx, users.CLI, f.args[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password changed for %s\n", f.args[0])
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown user command %q", sub)
	}
	return nil
}

func grantCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("grant: which? add, list, remove")
	}
	sub := args[0]
	f, err := parseSub("web grant "+sub, args[1:], stderr, sub == "add", false)
	if err != nil {
		return err
	}
	var g users.Grant
	var id int64
	switch sub {
	case "add":
		if len(f.args) != 0 {
			return fmt.Errorf("grant add takes no names beside its flags (got %q): use --user NAME or --group GROUP", f.args[0])
		}
		if (f.user == "") == (f.group == "") {
			return errors.New("grant add: give --user NAME or --group GROUP (one of them)")
		}
		sc, err := parseScope(f)
		if err != nil {
			return err
		}
		if err := users.CheckGrant(f.role, sc); err != nil {
			return err
		}
		g = users.Grant{User: f.user, Group: f.group, Role: f.role, Scope: sc}
	case "list":
	case "remove":
		if len(f.args) != 1 {
			return errors.New("grant remove: give the grant's id (web grant list shows them)")
		}
		if id, err = strconv.ParseInt(f.args[0], 10, 64); err != nil || id < 1 {
			return fmt.Errorf("grant remove: %q is not a grant id (a number; web grant list shows them)", f.args[0])
		}
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown grant command %q", sub)
	}
	store, err := openDB(ctx, f.db)
	if err != nil {
		return err
	}
	defer store.Close()
	adm, err := admin(store, f)
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		g, err := adm.AddGrant(ctx, users.CLI, g)
		if g.ID != 0 {
			fmt.Fprintf(stdout, "granted %s to %s\n%d\n", g.Words(), g.Who(), g.ID)
		}
		return err
	case "remove":
		g, err := adm.RemoveGrant(ctx, users.CLI, id)
		if errors.Is(err, users.ErrNoGrant) {
			return fmt.Errorf("grant remove: there is no grant %d (web grant list shows them)", id)
		}
		if g.ID != 0 {
			fmt.Fprintf(stdout, "removed grant %d: %s of %s\n", g.ID, g.Words(), g.Who())
		}
		return err
	}
	list, err := adm.Store.Grants(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFOR\tROLE\tSCOPE")
	for _, g := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", g.ID, g.Who(), g.Role, g.Scope.Words())
	}
	return tw.Flush()
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
