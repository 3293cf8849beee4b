// Package jobs holds hdi's built-in job files, embedded into the binary, and
// the JSON Schema of the job format. A file of the same name in the jobs
// directory (jobs_dir, --jobs-dir) overrides a built-in job.
package jobs

import "embed"

// FS holds the built-in job files (*.yaml) at its root.
//
//go:embed *.yaml
var FS embed.FS

// Schema is the JSON Schema (draft 2020-12) of the job format.
//
//go:embed job.schema.json
var Schema []byte
