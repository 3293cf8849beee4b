package dbn

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/hdi-dev/hdi/internal/fixedpoint"
	"github.com/hdi-dev/hdi/internal/jsonstr"
)

// CatOptions controls Cat.
type CatOptions struct {
	// Format is "json" (one object per line) or "csv".
	Format string
	// Limit stops after this many records (0 = all).
	Limit int
	// MapSymbols adds a "symbol" column resolved through the metadata's
	// mappings and the stream's symbol-mapping records.
	MapSymbols bool
}

// Cat prints the records of r. Field names and order are Databento's (mbp
// levels flattened as bid_px_00, ...); prices are exact decimals with nine
// fractional digits, timestamps RFC 3339 UTC with nanoseconds, undefined
// sentinels and NUL chars null (JSON) or empty (CSV), empty strings ""
// (JSON) or empty (CSV), as Databento's own decoder writes them. In CSV, a
// header line is written before the first record and again whenever the
// record type changes.
func Cat(w io.Writer, r *Reader, opts CatOptions) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var sm *SymbolMap
	if opts.MapSymbols {
		sm = NewSymbolMap(r.Metadata())
	}
	var cw *csv.Writer
	var row []string
	var lastRT *RecordType
	var line []byte
	tsOut := r.meta.TsOut
	n := 0
	for (opts.Limit <= 0 || n < opts.Limit) && r.Next() {
		rec := r.RecordBytes()
		rt := r.RecordType()
		if sm != nil {
			sm.Observe(rec)
		}
		sym, symOK := "", false
		if sm != nil {
			sym, symOK = sm.LookupRecord(rec)
		}
		switch opts.Format {
		case "json":
			line = appendJSONRecord(line[:0], rt, rec)
			if tsOut {
				line = line[:len(line)-1]
				line = appendNullableTs(append(line, `,"ts_out":`...), readU64(rec, len(rec)-8))
				line = append(line, '}')
			}
			if sm != nil {
				line = line[:len(line)-1]
				line = append(line, `,"symbol":`...)
				if symOK {
					line = jsonstr.Append(line, sym)
				} else {
					line = append(line, "null"...)
				}
				line = append(line, '}')
			}
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		case "csv":
			if cw == nil {
				cw = csv.NewWriter(bw)
			}
			if rt != lastRT {
				hdr := make([]string, 0, len(rt.Fields)+2)
				for _, f := range rt.Fields {
					hdr = append(hdr, f.Name)
				}
				if tsOut {
					hdr = append(hdr, "ts_out")
				}
				if sm != nil {
					hdr = append(hdr, "symbol")
				}
				if err := cw.Write(hdr); err != nil {
					return err
				}
				lastRT = rt
			}
			row = row[:0]
			for i := range rt.Fields {
				row = append(row, string(appendFieldText(line[:0], &rt.Fields[i], rec)))
			}
			if tsOut {
				row = append(row, fixedpoint.FormatTimestamp(readU64(rec, len(rec)-8)))
			}
			if sm != nil {
				row = append(row, sym)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		default:
			return fmt.Errorf("dbn: unknown output format %q (want json or csv)", opts.Format)
		}
		n++
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return r.Err()
}

// appendFieldText appends the text form of a field for CSV: "" when undefined.
func appendFieldText(dst []byte, f *Field, rec []byte) []byte {
	if f.IsUndef(rec) {
		return dst
	}
	switch f.Kind {
	case KindPrice:
		return fixedpoint.Append(dst, f.Int(rec))
	case KindTimestamp:
		return fixedpoint.AppendTimestamp(dst, f.Uint(rec))
	case KindChar:
		if c := rec[f.Offset]; c != 0 {
			return append(dst, c)
		}
		return dst
	case KindCString:
		return append(dst, f.CString(rec)...)
	}
	if f.Wire.Signed() {
		return strconv.AppendInt(dst, f.Int(rec), 10)
	}
	return strconv.AppendUint(dst, f.Uint(rec), 10)
}

func appendJSONRecord(dst []byte, rt *RecordType, rec []byte) []byte {
	dst = append(dst, '{')
	for i := range rt.Fields {
		f := &rt.Fields[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, f.Name...)
		dst = append(dst, '"', ':')
		if f.IsUndef(rec) {
			dst = append(dst, "null"...)
			continue
		}
		switch f.Kind {
		case KindPrice, KindTimestamp:
			dst = append(dst, '"')
			dst = appendFieldText(dst, f, rec)
			dst = append(dst, '"')
		case KindChar:
			// A NUL char is not set: null, as Databento's decoder writes it
			// and as it loads (NULL). An empty c-string stays "".
			if rec[f.Offset] == 0 {
				dst = append(dst, "null"...)
			} else {
				dst = jsonstr.Append(dst, string(appendFieldText(nil, f, rec)))
			}
		case KindCString:
			dst = jsonstr.Append(dst, string(appendFieldText(nil, f, rec)))
		default:
			dst = appendFieldText(dst, f, rec)
		}
	}
	return append(dst, '}')
}

func appendNullableTs(dst []byte, ts uint64) []byte {
	if ts == UndefTimestamp {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = fixedpoint.AppendTimestamp(dst, ts)
	return append(dst, '"')
}

// Inspect prints the metadata of r, its symbol mappings, and the number of
// records per record type (it reads the whole stream).
func Inspect(w io.Writer, name string, r *Reader) error {
	m := r.Metadata()
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("file:          %s\n", name)
	p("dbn version:   %d\n", m.Version)
	p("dataset:       %s\n", m.Dataset)
	schema := m.Schema.String()
	if m.Schema == SchemaNone {
		schema = "(mixed)"
	}
	p("schema:        %s\n", schema)
	p("start:         %s\n", fmtTs(m.Start))
	p("end:           %s\n", fmtTs(m.End))
	if m.Limit == 0 {
		p("limit:         none\n")
	} else {
		p("limit:         %d\n", m.Limit)
	}
	stypeIn := m.STypeIn.String()
	if m.STypeIn == STypeNone {
		stypeIn = "(mixed)"
	}
	p("stype_in:      %s\n", stypeIn)
	p("stype_out:     %s\n", m.STypeOut)
	p("ts_out:        %v\n", m.TsOut)
	p("symbols:       %d %s\n", len(m.Symbols), strings.Join(m.Symbols, " "))
	p("partial:       %d %s\n", len(m.Partial), strings.Join(m.Partial, " "))
	p("not_found:     %d %s\n", len(m.NotFound), strings.Join(m.NotFound, " "))
	p("mappings:      %d\n", len(m.Mappings))
	for _, sm := range m.Mappings {
		p("  %s\n", sm.RawSymbol)
		for _, iv := range sm.Intervals {
			p("    %s to %s (end exclusive): %s\n", iv.StartDate, iv.EndDate, iv.Symbol)
		}
	}
	for r.Next() {
	}
	if err := r.Err(); err != nil {
		bw.Flush()
		return err
	}
	counts := r.Counts()
	var total uint64
	keys := make([]RType, 0, len(counts))
	for k, c := range counts {
		keys = append(keys, k)
		total += c
	}
	slices.Sort(keys)
	p("records:       %d\n", total)
	for _, k := range keys {
		p("  %-16s %d\n", k.String()+":", counts[k])
	}
	if skipped, by := r.Skipped(); skipped > 0 {
		p("skipped:       %d records of unknown rtypes\n", skipped)
		for k, c := range by {
			p("  0x%02x: %d\n", uint8(k), c)
		}
	}
	return bw.Flush()
}

func fmtTs(ts uint64) string {
	if ts == UndefTimestamp {
		return "none"
	}
	return fmt.Sprintf("%s (%d)", fixedpoint.FormatTimestamp(ts), ts)
}
