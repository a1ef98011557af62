package db

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err says the database cannot take the request
// now rather than that the request is wrong: PostgreSQL out of connections
// (53300, too_many_connections, for the server or the database), starting
// up or shutting down (57P03, 57P01), or not reachable (a connection
// exception, class 08, or a failed connect). The handlers answer it 503.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "53300" || pg.Code == "57P03" || pg.Code == "57P01" || strings.HasPrefix(pg.Code, "08")
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
