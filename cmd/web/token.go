package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/secrets"
	"ecsdash/internal/users"
)

// tokenCmd creates, lists and revokes API tokens. Creation and revocation
// are audit entries whose user is "cli".
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("token: which? create, list, revoke")
	}
	sub := args[0]
	fs := flag.NewFlagSet("web token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "./ecs-dashboard.db", "the store: a SQLite file, or a postgres:// DSN")
	keyFile := fs.String("audit-key-file", "", "the audit chain's key (default: beside the database)")
	var user, name string
	var expires time.Duration
	var readOnly bool
	if sub == "create" {
		fs.StringVar(&user, "user", "", "the user the token acts as")
		fs.StringVar(&name, "name", "", "a label for the token")
		fs.DurationVar(&expires, "expires", 0, "lifetime, a Go duration such as 720h (default: never)")
		fs.BoolVar(&readOnly, "read-only", false, "the token may read, never start or check")
	}
	var rest []string
	for a := args[1:]; ; {
		if err := fs.Parse(a); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		rest, a = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
	store, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	// A token's life is on the database's clock, as the servers check it
	// (read once; the host's if the database cannot tell).
	clock := db.NewClock(store.Read)
	_ = clock.Sync(ctx)
	us := users.NewStore(store.Write, store.Read, clock.Now, 0)
	switch sub {
	case "create":
		if user == "" || len(rest) != 0 {
			return errors.New("token create: give --user NAME (and optionally --name LABEL --expires DURATION --read-only)")
		}
		if expires < 0 {
			return errors.New("token create: --expires must be positive")
		}
		log, err := cliLog(ctx, store, *dbPath, *keyFile)
		if err != nil {
			return err
		}
		t, text, err := us.IssueToken(ctx, log, audit.Event{User: "cli", AuthMethod: "cli"}, user,
			users.TokenOptions{Name: name, ReadOnly: readOnly, ExpiresIn: expires, CreatedBy: "cli"})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "id: %s\n", t.ID)
		fmt.Fprintln(stdout, "the token, shown this once (only its hash is stored):")
		fmt.Fprintln(stdout, text)
	case "list":
		list, err := us.Tokens(ctx, 0)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tSTATE\tREAD-ONLY\tCREATED\tEXPIRES")
		now := time.Now()
		for _, t := range list {
			state, exp := "live", "never"
			switch {
			case !t.RevokedAt.IsZero():
				state = "revoked"
			case !t.Live(now):
				state = "expired"
			}
			if !t.ExpiresAt.IsZero() {
				exp = t.ExpiresAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\n", t.ID, t.User, t.Name, state, t.ReadOnly, t.CreatedAt.UTC().Format(time.RFC3339), exp)
		}
		return tw.Flush()
	case "revoke":
		if len(rest) != 1 {
			return errors.New("token revoke: give exactly one token id")
		}
		log, err := cliLog(ctx, store, *dbPath, *keyFile)
		if err != nil {
			return err
		}
		err = us.RevokeTokenAs(ctx, log, audit.Event{User: "cli", AuthMethod: "cli"}, rest[0])
		if errors.Is(err, users.ErrNotFound) {
			return fmt.Errorf("token revoke: no live token %s", rest[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", rest[0])
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown token command %q", sub)
	}
	return nil
}

// cliLog is the audit log as the server writes it: keyed with the audit key
// file (created when missing, as serve does), its keyed chain marked.
func cliLog(ctx context.Context, store *db.DB, dbPath, keyFile string) (*audit.Log, error) {
	if keyFile == "" {
		keyFile = config.DefaultAuditKeyFile(dbPath)
	}
	raw, err := secrets.Load(keyFile, "audit key file", audit.NewKeyFile)
	if err != nil {
		return nil, err
	}
	keys, err := audit.ParseKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	log := audit.New(store.Write, store.Read, nil)
	log.UseKeys(keys)
	if err := log.EnsureKeyed(ctx); err != nil {
		return nil, err
	}
	return log, nil
}
