package rules

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/rules/arrowval"
)

// compileRule compiles one spec; it returns nil, nil for a default rule whose
// fields the stream lacks.
func compileRule(spec jobspec.RuleSpec, schema *arrow.Schema, opts Options, isDefault bool) (*rule, error) {
	sev := spec.Severity
	if sev == "" {
		sev = jobspec.SeverityError
	}
	if sev != jobspec.SeverityError && sev != jobspec.SeverityWarn {
		return nil, ruleErr(spec, opts, "severity %q: want error or warn", sev)
	}
	name := spec.Name
	if name == "" {
		name = defaultName(spec)
	}
	r := &rule{RuleInfo: RuleInfo{Name: name, Type: spec.Type, Severity: sev}, isError: sev == jobspec.SeverityError}
	stream := opts.Stream
	if stream == "" {
		stream = "(stream)"
	}
	missing := false
	field := func(name string) (int, arrow.Field, error) {
		idx := schema.FieldIndices(name)
		if idx == nil {
			missing = true
			return -1, arrow.Field{}, ruleErr(spec, opts, "field %q not in stream %s (fields: %s)", name, stream, fieldList(schema))
		}
		return idx[0], schema.Field(idx[0]), nil
	}
	one := func() (int, arrow.Field, error) {
		f := spec.Field
		if f == "" && len(spec.Fields) == 1 {
			f = spec.Fields[0]
		}
		if f == "" {
			return -1, arrow.Field{}, ruleErr(spec, opts, "%s needs `field:`", spec.Type)
		}
		return field(f)
	}
	wrongType := func(f arrow.Field, want string) error {
		return ruleErr(spec, opts, "field %q is %s, %s needs %s", f.Name, f.Type, spec.Type, want)
	}
	var err error
	switch spec.Type {
	case "not_null":
		err = compileNotNull(r, one)
	case "min", "max", "range", "non_negative":
		err = compileRange(r, spec, opts, one, wrongType)
	case "one_of":
		err = compileOneOf(r, spec, opts, one, wrongType)
	case "regex":
		err = compileRegex(r, spec, opts, one, wrongType)
	case "unique":
		err = compileUnique(r, spec, opts, field, wrongType)
	case "monotonic":
		err = compileMonotonic(r, schema, one, wrongType)
	case "ohlc_consistent":
		err = compileOHLC(r, spec, field, wrongType)
	case "time_in_range":
		if spec.Field == "" && len(spec.Fields) == 0 {
			spec.Field = "ts_event"
		}
		err = compileTimeInRange(r, one, wrongType)
	case "expr":
		err = compileExpr(r, spec, opts, schema)
	default:
		return nil, ruleErr(spec, opts, "unknown rule type %q (want not_null, min, max, range, one_of, regex, unique, monotonic, ohlc_consistent, non_negative, time_in_range or expr)", spec.Type)
	}
	if err != nil {
		if isDefault && missing {
			return nil, nil
		}
		return nil, err
	}
	return r, nil
}

type fieldFn func() (int, arrow.Field, error)

func cellString(rec arrow.RecordBatch, fi, row int) string {
	f := rec.Schema().Field(fi)
	v := arrowval.Value(rec.Column(fi), row, arrowval.IsChar(f))
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

func compileNotNull(r *rule, one fieldFn) error {
	fi, f, err := one()
	if err != nil {
		return err
	}
	char := arrowval.IsChar(f)
	r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
		arr := rec.Column(fi)
		if arr.NullN() == 0 && !char {
			return
		}
		var u8 []uint8
		if char {
			u8 = arr.(*array.Uint8).Uint8Values()
		}
		for i := 0; i < arr.Len(); i++ {
			if arr.IsNull(i) || (char && u8[i] == 0) {
				s.fail(i)
			}
		}
	}
	r.msg = func(_ *Checker, _ arrow.RecordBatch, _ int) string { return f.Name + " is null" }
	return nil
}

func isNumeric(id arrow.Type) bool {
	switch id {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64, arrow.TIMESTAMP, arrow.DECIMAL128:
		return true
	}
	return false
}

// compileRange handles min, max, range and non_negative. Bounds compare with
// the raw field values: prices are int64 in 1e-9 units, so `min: 1` on a
// price means 1e-9.
func compileRange(r *rule, spec jobspec.RuleSpec, opts Options, one fieldFn, wrongType func(arrow.Field, string) error) error {
	fi, f, err := one()
	if err != nil {
		return err
	}
	if !isNumeric(f.Type.ID()) {
		return wrongType(f, "a numeric field")
	}
	var lob, hib *jobspec.Number // nil: unbounded
	switch spec.Type {
	case "min":
		if spec.Min == nil {
			return ruleErr(spec, opts, "min needs `min:`")
		}
		lob = spec.Min
	case "max":
		if spec.Max == nil {
			return ruleErr(spec, opts, "max needs `max:`")
		}
		hib = spec.Max
	case "range":
		if spec.Min == nil && spec.Max == nil {
			return ruleErr(spec, opts, "range needs `min:` and/or `max:`")
		}
		lob, hib = spec.Min, spec.Max
	case "non_negative":
		lob = jobspec.NumberOf("0")
	}
	lo, flo := bound(lob, true)
	hi, fhi := bound(hib, false)
	if dt, ok := f.Type.(*arrow.Decimal128Type); ok {
		dlo, dhi := decimalBound(lob, dt.Scale, true), decimalBound(hib, dt.Scale, false)
		r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
			arr := rec.Column(fi).(*array.Decimal128)
			for i := range arr.Len() {
				v := arr.Value(i)
				if ((dlo != nil && v.Less(*dlo)) || (dhi != nil && v.Greater(*dhi))) && arr.IsValid(i) {
					s.fail(i)
				}
			}
		}
	} else {
		r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
			rangeCheck(rec.Column(fi), lo, hi, flo, fhi, s)
		}
	}
	r.msg = func(_ *Checker, rec arrow.RecordBatch, row int) string {
		v := cellString(rec, fi, row)
		switch {
		case spec.Type == "non_negative":
			return fmt.Sprintf("%s = %s is negative", f.Name, v)
		case hib == nil:
			return fmt.Sprintf("%s = %s < min %s", f.Name, v, *lob)
		case lob == nil:
			return fmt.Sprintf("%s = %s > max %s", f.Name, v, *hib)
		}
		return fmt.Sprintf("%s = %s outside [%s, %s]", f.Name, v, *lob, *hib)
	}
	return nil
}

// decimalBound turns an exact bound into a decimal128 of the field's scale:
// the least value >= a lower bound, the greatest <= an upper one; nil when
// unbounded. A bound beyond what 38 digits hold is nil on the side it
// leaves open (a lower bound below every value), and ±10^38 on the side it
// closes (a lower bound above every value: none passes).
func decimalBound(n *jobspec.Number, scale int32, lower bool) *decimal128.Num {
	if n == nil {
		return nil
	}
	pow := func(e int64) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(e), nil) }
	q := roundBound(new(big.Rat).Mul(n.Rat(), new(big.Rat).SetInt(pow(int64(scale)))), lower)
	if limit := pow(38); q.CmpAbs(limit) > 0 {
		if lower == (q.Sign() < 0) {
			return nil
		}
		q = limit.Mul(limit, big.NewInt(int64(q.Sign())))
	}
	v := decimal128.FromBigInt(q)
	return &v
}

// roundBound is the integer bound an exact bound gives: the least integer
// >= a lower bound, the greatest <= an upper one.
func roundBound(r *big.Rat, lower bool) *big.Int {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	// QuoRem truncates towards zero: step to the ceiling (lower bounds) or
	// the floor (upper bounds) when there is a remainder.
	if m.Sign() != 0 {
		if lower && r.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		if !lower && r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		}
	}
	return q
}

// bound turns an exact bound into the integer bound integer fields compare
// with (the least integer >= a lower bound, the greatest <= an upper one,
// clamped to int64) and the float64 that float fields compare with. A nil
// bound is unbounded.
func bound(n *jobspec.Number, lower bool) (int64, float64) {
	if n == nil {
		if lower {
			return math.MinInt64, math.Inf(-1)
		}
		return math.MaxInt64, math.Inf(1)
	}
	r := n.Rat()
	f, _ := r.Float64()
	q := roundBound(r, lower)
	switch {
	case q.IsInt64():
		return q.Int64(), f
	case q.Sign() < 0:
		return math.MinInt64, f
	}
	return math.MaxInt64, f
}

type intElem interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

func rangeInts[T intElem](vals []T, arr arrow.Array, lo, hi int64, s *sink) {
	if arr.NullN() == 0 {
		for i, v := range vals {
			if x := int64(v); x < lo || x > hi {
				s.fail(i)
			}
		}
		return
	}
	for i, v := range vals {
		if x := int64(v); (x < lo || x > hi) && arr.IsValid(i) {
			s.fail(i)
		}
	}
}

func rangeFloats[T float32 | float64](vals []T, arr arrow.Array, lo, hi float64, s *sink) {
	for i, v := range vals {
		if x := float64(v); !(x >= lo && x <= hi) && arr.IsValid(i) {
			s.fail(i)
		}
	}
}

func rangeCheck(arr arrow.Array, lo, hi int64, flo, fhi float64, s *sink) {
	switch a := arr.(type) {
	case *array.Int64:
		rangeInts(a.Int64Values(), arr, lo, hi, s)
	case *array.Int32:
		rangeInts(a.Int32Values(), arr, lo, hi, s)
	case *array.Int16:
		rangeInts(a.Int16Values(), arr, lo, hi, s)
	case *array.Int8:
		rangeInts(a.Int8Values(), arr, lo, hi, s)
	case *array.Uint32:
		rangeInts(a.Uint32Values(), arr, lo, hi, s)
	case *array.Uint16:
		rangeInts(a.Uint16Values(), arr, lo, hi, s)
	case *array.Uint8:
		rangeInts(a.Uint8Values(), arr, lo, hi, s)
	case *array.Timestamp:
		rangeInts(a.TimestampValues(), arr, lo, hi, s)
	case *array.Uint64:
		for i, v := range a.Uint64Values() {
			bad := (lo > 0 && v < uint64(lo)) || (hi < 0) || (hi >= 0 && v > uint64(hi))
			if bad && arr.IsValid(i) {
				s.fail(i)
			}
		}
	case *array.Float64:
		rangeFloats(a.Float64Values(), arr, flo, fhi, s)
	case *array.Float32:
		rangeFloats(a.Float32Values(), arr, flo, fhi, s)
	}
}

func compileOneOf(r *rule, spec jobspec.RuleSpec, opts Options, one fieldFn, wrongType func(arrow.Field, string) error) error {
	fi, f, err := one()
	if err != nil {
		return err
	}
	if len(spec.Values) == 0 {
		return ruleErr(spec, opts, "one_of needs `values:`")
	}
	r.msg = func(_ *Checker, rec arrow.RecordBatch, row int) string {
		return fmt.Sprintf("%s = %s not one of %q", f.Name, cellString(rec, fi, row), spec.Values)
	}
	switch id := f.Type.ID(); {
	case arrowval.IsChar(f):
		var ok [256]bool
		for _, v := range spec.Values {
			if len(v) != 1 {
				return ruleErr(spec, opts, "field %q holds one character: value %q is not one", f.Name, v)
			}
			ok[v[0]] = true
		}
		r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
			arr := rec.Column(fi)
			for i, v := range arr.(*array.Uint8).Uint8Values() {
				if !ok[v] && arr.IsValid(i) {
					s.fail(i)
				}
			}
		}
	case id == arrow.STRING || id == arrow.LARGE_STRING:
		set := map[string]bool{}
		for _, v := range spec.Values {
			set[v] = true
		}
		r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
			a := rec.Column(fi).(interface {
				arrow.Array
				Value(int) string
			})
			for i := 0; i < a.Len(); i++ {
				if a.IsValid(i) && !set[a.Value(i)] {
					s.fail(i)
				}
			}
		}
	case isNumeric(id) && id != arrow.FLOAT32 && id != arrow.FLOAT64:
		set := map[int64]bool{}
		for _, v := range spec.Values {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ruleErr(spec, opts, "field %q is %s: value %q is not an integer", f.Name, f.Type, v)
			}
			set[n] = true
		}
		r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
			arr := rec.Column(fi)
			for i := 0; i < arr.Len(); i++ {
				if v, ok := arrowval.Value(arr, i, false).(int64); ok && !set[v] {
					s.fail(i)
				}
			}
		}
	default:
		return wrongType(f, "a string, character or integer field")
	}
	return nil
}

func compileRegex(r *rule, spec jobspec.RuleSpec, opts Options, one fieldFn, wrongType func(arrow.Field, string) error) error {
	fi, f, err := one()
	if err != nil {
		return err
	}
	re, err := regexp.Compile(spec.Pattern)
	if err != nil || spec.Pattern == "" {
		return ruleErr(spec, opts, "pattern %q: %v", spec.Pattern, err)
	}
	id := f.Type.ID()
	char := arrowval.IsChar(f)
	if id != arrow.STRING && id != arrow.LARGE_STRING && !char {
		return wrongType(f, "a string field")
	}
	r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
		arr := rec.Column(fi)
		for i := 0; i < arr.Len(); i++ {
			if v, ok := arrowval.Value(arr, i, char).(string); ok && !re.MatchString(v) {
				s.fail(i)
			}
		}
	}
	r.msg = func(_ *Checker, rec arrow.RecordBatch, row int) string {
		return fmt.Sprintf("%s = %s does not match /%s/", f.Name, cellString(rec, fi, row), spec.Pattern)
	}
	return nil
}

// compileUnique: rows whose values of Fields repeat an earlier row of the
// same batch fail (the first occurrence passes).
func compileUnique(r *rule, spec jobspec.RuleSpec, opts Options, field func(string) (int, arrow.Field, error), wrongType func(arrow.Field, string) error) error {
	names := spec.Fields
	if len(names) == 0 && spec.Field != "" {
		names = []string{spec.Field}
	}
	if len(names) == 0 {
		return ruleErr(spec, opts, "unique needs `fields:`")
	}
	var idx []int
	var chars []bool
	for _, n := range names {
		fi, f, err := field(n)
		if err != nil {
			return err
		}
		idx = append(idx, fi)
		chars = append(chars, arrowval.IsChar(f))
	}
	r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
		seen := make(map[string]struct{}, rec.NumRows())
		var key []byte
		cols := make([]arrow.Array, len(idx))
		for k, fi := range idx {
			cols[k] = rec.Column(fi)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			key = key[:0]
			for k, a := range cols {
				key = arrowval.AppendJSON(key, a, i, chars[k])
				key = append(key, 0)
			}
			if _, dup := seen[string(key)]; dup {
				s.fail(i)
			} else {
				seen[string(key)] = struct{}{}
			}
		}
	}
	r.msg = func(_ *Checker, rec arrow.RecordBatch, row int) string {
		vals := make([]string, len(idx))
		for k, fi := range idx {
			vals[k] = names[k] + "=" + cellString(rec, fi, row)
		}
		return fmt.Sprintf("duplicate %v in batch", vals)
	}
	return nil
}

func int64Vals(arr arrow.Array) []int64 {
	switch a := arr.(type) {
	case *array.Int64:
		return a.Int64Values()
	case *array.Timestamp:
		return arrowval.TimestampsAsInt64(a.TimestampValues())
	}
	return nil
}

// monoState is the last value per instrument, across the unit's batches.
type monoState struct {
	last    map[int64]int64
	hasLast bool
	lastID  int64
	lastVal int64
}

func compileMonotonic(r *rule, schema *arrow.Schema, one fieldFn, wrongType func(arrow.Field, string) error) error {
	fi, f, err := one()
	if err != nil {
		return err
	}
	if id := f.Type.ID(); id != arrow.INT64 && id != arrow.TIMESTAMP {
		return wrongType(f, "an int64 nanosecond field")
	}
	inst := -1
	if idx := schema.FieldIndices("instrument_id"); idx != nil && isNumeric(schema.Field(idx[0]).Type.ID()) {
		inst = idx[0]
	}
	r.newState = func() any { return &monoState{last: map[int64]int64{}} }
	r.eval = func(c *Checker, rec arrow.RecordBatch, s *sink) {
		st := c.state[s.rule].(*monoState)
		arr := rec.Column(fi)
		vals := int64Vals(arr)
		var ids []uint32
		var idArr arrow.Array
		if inst >= 0 {
			idArr = rec.Column(inst)
			if a, ok := idArr.(*array.Uint32); ok {
				ids = a.Uint32Values()
			}
		}
		for i, v := range vals {
			if arr.IsNull(i) {
				continue
			}
			var id int64
			switch {
			case ids != nil:
				id = int64(ids[i])
			case idArr != nil:
				id, _ = arrowval.Value(idArr, i, false).(int64)
			}
			prev, ok := st.lastVal, st.hasLast && st.lastID == id
			if !ok {
				prev, ok = st.last[id]
				if st.hasLast {
					st.last[st.lastID] = st.lastVal
				}
			}
			if ok && v < prev {
				s.fail(i)
				v = prev // keep the high-water mark
			}
			st.hasLast, st.lastID, st.lastVal = true, id, v
		}
		if st.hasLast {
			st.last[st.lastID] = st.lastVal
		}
	}
	r.msg = func(_ *Checker, rec arrow.RecordBatch, row int) string {
		if inst >= 0 {
			return fmt.Sprintf("%s = %s goes back in time for instrument_id %s", f.Name, cellString(rec, fi, row), cellString(rec, inst, row))
		}
		return fmt.Sprintf("%s = %s goes back in time", f.Name, cellString(rec, fi, row))
	}
	return nil
}

func compileOHLC(r *rule, spec jobspec.RuleSpec, field func(string) (int, arrow.Field, error), wrongType func(arrow.Field, string) error) error {
	names := spec.Fields
	if len(names) != 4 {
		names = []string{"open", "high", "low", "close"}
	}
	var idx [4]int
	for k, n := range names {
		fi, f, err := field(n)
		if err != nil {
			return err
		}
		if f.Type.ID() != arrow.INT64 {
			return wrongType(f, "int64 fixed-point prices")
		}
		idx[k] = fi
	}
	r.eval = func(_ *Checker, rec arrow.RecordBatch, s *sink) {
		o, h, l, c := rec.Column(idx[0]), rec.Column(idx[1]), rec.Column(idx[2]), rec.Column(idx[3])
		ov, hv, lv, cv := int64Vals(o), int64Vals(h), int64Vals(l), int64Vals(c)
		nulls := o.NullN()+h.NullN()+l.NullN()+c.NullN() > 0
		for i := range ov {
			if ov[i] < lv[i] || cv[i] < lv[i] || ov[i] > hv[i] || cv[i] > hv[i] || lv[i] > hv[i] {
				if nulls && (o.IsNull(i) || h.IsNull(i) || l.IsNull(i) || c.IsNull(i)) {
					continue
				}
				s.fail(i)
			}
		}
	}
	r.msg = func(_ *Checker, rec arrow.RecordBatch, row int) string {
		return fmt.Sprintf("inconsistent bar: %s=%s %s=%s %s=%s %s=%s (want low <= open, close <= high)",
			names[0], cellString(rec, idx[0], row), names[1], cellString(rec, idx[1], row),
			names[2], cellString(rec, idx[2], row), names[3], cellString(rec, idx[3], row))
	}
	return nil
}

func compileTimeInRange(r *rule, one fieldFn, wrongType func(arrow.Field, string) error) error {
	fi, f, err := one()
	if err != nil {
		return err
	}
	if id := f.Type.ID(); id != arrow.INT64 && id != arrow.TIMESTAMP {
		return wrongType(f, "an int64 nanosecond field")
	}
	r.eval = func(c *Checker, rec arrow.RecordBatch, s *sink) {
		if !c.hasRange {
			return
		}
		arr := rec.Column(fi)
		for i, v := range int64Vals(arr) {
			if (v < c.start || v >= c.end) && arr.IsValid(i) {
				s.fail(i)
			}
		}
	}
	r.msg = func(c *Checker, rec arrow.RecordBatch, row int) string {
		return fmt.Sprintf("%s = %s outside the unit's range [%d, %d)", f.Name, cellString(rec, fi, row), c.start, c.end)
	}
	return nil
}
