package mapping

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Querier is what IntrospectTable needs: a *pgxpool.Pool, *pgx.Conn or pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ColumnInfo is one column of a target table, as the catalog has it.
type ColumnInfo struct {
	Name    string
	Type    string // format_type(), e.g. "bigint", "character(1)", "timestamp with time zone"
	TypeOID uint32 // the base type's OID (domains resolved)
	// TypeMod is the type modifier (atttypmod; a domain's typtypmod):
	// numeric(p,s)'s precision and scale, varchar(n)'s and char(n)'s
	// length. 0 or -1: none (see NumericLimits, MaxChars).
	TypeMod int32
	NotNull bool
	// HasDefault is true for columns with a default, identity or generated
	// columns: they may be left out of the COPY.
	HasDefault bool
	// Generated is true for GENERATED ALWAYS columns, which must not be written.
	Generated bool
}

// TableInfo describes a target table.
type TableInfo struct {
	// Name is the table as given to IntrospectTable; QualifiedName is
	// schema.table as resolved through the search_path.
	Name          string
	Schema, Table string
	Columns       []ColumnInfo
	// UniqueKey is the primary key, or else the first non-partial unique
	// index on plain columns (nil when the table has none).
	UniqueKey []string
}

// Ident returns the table as a pgx.Identifier (schema, table).
func (t TableInfo) Ident() pgx.Identifier { return pgx.Identifier{t.Schema, t.Table} }

// Plain is the table's name as people write it: "trades", or
// "schema.table" outside the public schema. The ledger and the quarantine
// record it so.
func (t TableInfo) Plain() string {
	if t.Schema == "" || t.Schema == "public" {
		return t.Table
	}
	return t.Schema + "." + t.Table
}

// Column returns the column called name.
func (t TableInfo) Column(name string) (ColumnInfo, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return ColumnInfo{}, false
}

const introspectColumnsSQL = `
SELECT c.relname, n.nspname, a.attname, format_type(a.atttypid, a.atttypmod),
       CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       a.attnotnull, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
       a.attidentity = 'a' OR a.attgenerated <> ''
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

const introspectKeySQL = `
SELECT array(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             ORDER BY k.ord)
FROM pg_index i
WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
  AND i.indexprs IS NULL
ORDER BY i.indisprimary DESC, i.indexrelid
LIMIT 1`

// ErrNoTable is IntrospectTable's error for a table that is not there.
var ErrNoTable = errors.New("does not exist (or has no columns)")

// IntrospectTable reads a table's columns and unique key from the catalog.
// name may be schema-qualified; otherwise the search_path resolves it.
func IntrospectTable(ctx context.Context, q Querier, name string) (TableInfo, error) {
	ti := TableInfo{Name: name}
	rows, err := q.Query(ctx, introspectColumnsSQL, name)
	if err != nil {
		return ti, fmt.Errorf("introspect table %s: %w", name, err)
	}
	for rows.Next() {
		var c ColumnInfo
		if err := rows.Scan(&ti.Table, &ti.Schema, &c.Name, &c.Type, &c.TypeOID, &c.TypeMod, &c.NotNull, &c.HasDefault, &c.Generated); err != nil {
			rows.Close()
			return ti, fmt.Errorf("introspect table %s: %w", name, err)
		}
		ti.Columns = append(ti.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return ti, fmt.Errorf("introspect table %s: %w", name, err)
	}
	if len(ti.Columns) == 0 {
		return ti, fmt.Errorf("target table %q %w: run `hdi migrate` or create it with a goose migration", name, ErrNoTable)
	}
	err = q.QueryRow(ctx, introspectKeySQL, name).Scan(&ti.UniqueKey)
	if err != nil && err != pgx.ErrNoRows {
		return ti, fmt.Errorf("introspect unique key of %s: %w", name, err)
	}
	return ti, nil
}

// String describes the table's columns for messages.
func (t TableInfo) String() string {
	parts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		parts[i] = c.Name + " " + c.Type
	}
	return t.Schema + "." + t.Table + "(" + strings.Join(parts, ", ") + ")"
}
