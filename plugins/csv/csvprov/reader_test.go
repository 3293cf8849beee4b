package csvprov

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// fetchFile fetches one file of text with the declared columns.
func fetchFile(t *testing.T, text string, cols []sdk.Column, params map[string]string) (*sdk.Collector, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	job := &sdk.Job{Files: []string{path}, Columns: cols, Params: params}
	p := New()
	plan, err := p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	c := &sdk.Collector{}
	if err := p.Fetch(context.Background(), &sdk.FetchRequest{Job: job, Unit: plan.Units[0]}, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Release)
	return c, path
}

// rowErrors lists the row errors as "line:column: message".
func rowErrors(c *sdk.Collector, path string) []string {
	var out []string
	for _, e := range c.RowErrors {
		out = append(out, strings.TrimPrefix(e.Error(), path+":"))
	}
	return out
}

// TestRecordsOfTheWrongWidth: a record with more fields than the header (or
// than the declared columns of a file without one) is a row error naming
// the first extra field, as one with fewer is; neither loads.
func TestRecordsOfTheWrongWidth(t *testing.T) {
	cols := []sdk.Column{{Name: "a", Type: sdk.ColumnString}, {Name: "b", Type: sdk.ColumnInt64, Nullable: true}}
	c, path := fetchFile(t, "a,b\nx,1\ny,2,extra\nz\nw,4\n", cols, nil)
	want := []string{`3:3: the record has 3 fields, the header 2`, `4: the record has 1 fields, column "b" is field 2`}
	if got := rowErrors(c, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("row errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Rows[Stream] != 2 {
		t.Errorf("%d rows, want 2", c.Rows[Stream])
	}
	c, path = fetchFile(t, "x,1\ny,2,extra\n", cols, map[string]string{"header": "false"})
	if got := rowErrors(c, path); len(got) != 1 || got[0] != "2:3: the record has 3 fields, 2 columns are declared" {
		t.Errorf("without a header: %q", got)
	}
}

// TestEmptyFieldsAndQuotes: an unquoted empty field (or the null text) is
// NULL in every column; a quoted one is the text itself in a string column
// ("" is the empty string), as in PostgreSQL's CSV COPY. NULL in a NOT NULL
// column is a row error.
func TestEmptyFieldsAndQuotes(t *testing.T) {
	cols := []sdk.Column{
		{Name: "id", Type: sdk.ColumnInt64},
		{Name: "must", Type: sdk.ColumnString},
		{Name: "may", Type: sdk.ColumnString, Nullable: true},
		{Name: "n", Type: sdk.ColumnInt64, Nullable: true},
	}
	text := "id,must,may,n\n" +
		"1,\"\",,\n" + // quoted empty: ''; unquoted empty: NULL
		"2,,x,5\n" + // empty into NOT NULL: an error
		"3,\"NA\",NA,NA\n" + // the null text: NULL unless quoted in a string column
		"4,\"multi\nline\",\"\",\"\"\n" + // a quoted field over two lines; "" into int64 is NULL
		"5,NA,a,1\n" + // the null text into NOT NULL: an error
		"6,  ,b,\n" // spaces are text
	c, path := fetchFile(t, text, cols, map[string]string{"null": "NA"})
	want := []string{`3:2: column "must": empty (NULL), but the column is NOT NULL`, `7:2: column "must": "NA" is the null text, but the column is NOT NULL`}
	if got := rowErrors(c, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("row errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rec := c.Batches[Stream][0]
	if rec.NumRows() != 4 {
		t.Fatalf("%d rows, want 4", rec.NumRows())
	}
	show := func(col, i int) string {
		a := rec.Column(col)
		if a.IsNull(i) {
			return "NULL"
		}
		if s, ok := a.(*array.String); ok {
			return "'" + s.Value(i) + "'"
		}
		return a.ValueStr(i)
	}
	var got []string
	for i := range int(rec.NumRows()) {
		got = append(got, show(0, i)+" "+show(1, i)+" "+show(2, i)+" "+show(3, i))
	}
	wantRows := []string{"1 '' NULL NULL", "3 'NA' NULL NULL", "4 'multi\nline' '' NULL", "6 '  ' 'b' NULL"}
	if strings.Join(got, "|") != strings.Join(wantRows, "|") {
		t.Errorf("rows\n%q\nwant\n%q", got, wantRows)
	}
}

// TestValuesBeyondTheTable: with what the table holds declared (hdi does,
// from the target table), a value beyond it is a row error with its place,
// the way a value that does not parse is.
func TestValuesBeyondTheTable(t *testing.T) {
	cols := []sdk.Column{
		{Name: "px", Type: sdk.ColumnNumeric, Scale: 4, Precision: 12, Nullable: true},
		{Name: "sym", Type: sdk.ColumnString, Length: 4, Nullable: true},
		{Name: "q", Type: sdk.ColumnInt64, Bits: 16, Nullable: true},
		{Name: "v", Type: sdk.ColumnInt64, Bits: 32, Nullable: true},
		{Name: "tiny", Type: sdk.ColumnNumeric, Scale: 4, Precision: 2, Nullable: true},
	}
	text := "px,sym,q,v,tiny\n" +
		"99999999.9999,ESH4,32767,-2147483648,0.0099\n" + // each at its bound: loads
		"99999999999.9999,,,,\n" +
		",ESH45,,,\n" +
		",\"ESH4  \",,,\n" + // excess spaces are cut, as PostgreSQL does: loads
		",\"ÉSH4\",,,\n" + // four characters, five bytes: loads
		",,32768,,\n" +
		",,,2147483648,\n" +
		",,,,0.01\n" +
		",\"a\x00b\",,,\n" +
		",\"\xff\",,,\n"
	c, path := fetchFile(t, text, cols, nil)
	want := []string{
		`3:1: column "px": "99999999999.9999" is not a decimal number with at most 8 digits before the point and 4 after: 11 digits before the decimal point`,
		`4:2: column "sym": "ESH45" is not a text of at most 4 characters: it has 5`,
		`7:3: column "q": "32768" is not a whole number from -32768 to 32767: value out of range`,
		`8:4: column "v": "2147483648" is not a whole number from -2147483648 to 2147483647: value out of range`,
		`9:5: column "tiny": "0.01" is not a decimal number below 10^-2 with at most 4 places: too large`,
		`10:2: column "sym": "a\x00b" is not a text of at most 4 characters: it holds a NUL byte (0x00), which PostgreSQL text cannot store`,
		`11:2: column "sym": "\xff" is not a text of at most 4 characters: it is not valid UTF-8`,
	}
	if got := rowErrors(c, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("row errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Rows[Stream] != 3 {
		t.Errorf("%d rows, want 3", c.Rows[Stream])
	}
}
