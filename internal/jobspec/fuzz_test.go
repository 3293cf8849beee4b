package jobspec

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseJob checks that the parser never panics, that every failure is an
// Errors of single-line "file:line: message" problems, and that a job it
// accepts validates again after defaults.
func FuzzParseJob(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "rules:\n  - {type: range, field: p, min: 1, max: 2}\n"))
	f.Add([]byte("name: x\nprovider: {name: csv}\nsource: {schema: s, files: [a]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		job, err := ParseWith("f.yaml", data, testOpts(secretEnv))
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			for _, e := range es {
				if e.Line < 1 || strings.Contains(e.Error(), "\n") || !strings.HasPrefix(e.Error(), "f.yaml:") {
					t.Fatalf("bad error %q", e.Error())
				}
			}
			return
		}
		if err := job.Validate(testNow); err != nil {
			t.Fatalf("accepted job fails validation after defaults: %v", err)
		}
	})
}
