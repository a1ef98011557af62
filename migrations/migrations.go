// Package migrations embeds the numbered SQL files that build the database.
// internal/db applies them in order at start-up.
package migrations

import "embed"

// FS holds NNNN_name.sql files.
//
//go:embed *.sql
var FS embed.FS
