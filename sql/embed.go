// Package sqlfiles embeds hdi's query files (sql/queries/*.sql) so the CLI
// can run a query by name at run time, the same files sqlc compiles into
// internal/dbq.
package sqlfiles

import "embed"

// Queries holds every query file, under queries/.
//
//go:embed queries/*.sql
var Queries embed.FS
