// Package migrations embeds hdi's goose migrations (the *.sql files in this
// directory) into the binary.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
