// Command web is the ECS start dashboard: `web serve` runs it; `web user …`
// and `web audit …` manage users and read the audit log; `web simulator`
// runs the ECS simulator on its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	var exit exitCode
	switch {
	case err == nil:
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(2)
	}
}

// exitCode ends the process with a code and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

const usage = `Usage:
  web [serve] [flags]                               run the dashboard (web serve --help for flags)
  web user add --db PATH --role ROLE [--scope EXPR] NAME
                                                    create a user; password on the first line of stdin
  web user list --db PATH                           list users
  web user disable|enable --db PATH NAME            disable or enable a user (ends its sessions)
  web user set-role --db PATH [--scope EXPR] NAME ROLE
                                                    change a user's role and its scope (ends its sessions)
  web user passwd --db PATH NAME                    set a password from stdin (ends its sessions)
  web grant add --db PATH --role ROLE [--scope EXPR] (--user NAME | --group GROUP)
                                                    an extra role over a scope; prints the grant's id last
  web grant list --db PATH                          one grant a line: id, user or group, role, scope
  web grant remove --db PATH ID                     end a grant
  web audit verify --db PATH [--head SEQ:HASH] [--audit-key-file PATH]
                                                    check the audit log's chain (and that it still reaches a
                                                    head noted earlier); exit 1 naming the first bad entry
  web audit export --db PATH --format csv|json      write the audit log to stdout
  web token create --db PATH --user NAME [--name LABEL] [--expires DURATION] [--read-only]
                                                    an API token for the JSON API; its id, then the token
                                                    alone on the last line (shown once)
  web token list --db PATH                          the tokens, one a line, id first (never the token)
  web token revoke --db PATH ID                     end a token from its next request on
  web simulator --addr HOST:PORT [--demo-instances N]
                                                    the ECS simulator alone; prints its endpoint and demo AccessKey
Roles: viewer, operator, approver, admin. A scope is comma-separated conditions, all of which must
hold: region=REGION, tag:KEY=VALUE, resource-group=rg-…, account=NAME (none: every instance).
Every change to users and grants is an audit entry (user "cli").
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help" && args[0] != "-help") {
		return serve(ctx, args, getenv, stdout, stderr)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "user":
		return userCmd(ctx, args[1:], stdin, stdout, stderr)
	case "grant":
		return grantCmd(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], stdout, stderr)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr)
	case "simulator":
		return simulatorCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
