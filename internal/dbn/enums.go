package dbn

import (
	"fmt"
	"math"
)

// Sentinels Databento uses for "undefined" values.
const (
	// UndefPrice marks an undefined fixed-point price (i64::MAX).
	UndefPrice int64 = math.MaxInt64
	// UndefOrderSize marks an undefined order size (u32::MAX).
	UndefOrderSize uint32 = math.MaxUint32
	// UndefStatQuantity marks an undefined statistics quantity in DBN v3 (i64::MAX).
	UndefStatQuantity int64 = math.MaxInt64
	// UndefStatQuantityV1 marks an undefined statistics quantity in DBN v1 and v2 (i32::MAX).
	UndefStatQuantityV1 int32 = math.MaxInt32
	// UndefTimestamp marks an undefined nanosecond timestamp (u64::MAX).
	UndefTimestamp uint64 = math.MaxUint64
	// FixedPriceScale is the denominator of fixed-point prices: 1 unit is 1e-9.
	FixedPriceScale int64 = 1_000_000_000
)

// Layout constants of the DBN format.
const (
	// Version is the DBN version this package encodes, and to which it upgrades.
	Version = 3
	// SymbolCstrLen is the length of symbol c-strings in DBN v2 and v3.
	SymbolCstrLen = 71
	// SymbolCstrLenV1 is the length of symbol c-strings in DBN v1.
	SymbolCstrLenV1 = 22
	// AssetCstrLen is the length of the asset c-string in v3 definitions.
	AssetCstrLen = 11
	// AssetCstrLenV1 is the length of the asset c-string in v1 and v2 definitions.
	AssetCstrLenV1 = 7
	// HeaderSize is the size of RecordHeader in bytes.
	HeaderSize = 16
	// LengthMultiplier converts the header's length byte into bytes.
	LengthMultiplier = 4
	// MaxRecordLen is the largest v3 record, with ts_out (a definition).
	MaxRecordLen = 520 + 8
)

// RType is the record type byte of a record header.
type RType uint8

// Record types defined by Databento.
const (
	RTypeMbp0            RType = 0x00 // trades (mbp-0)
	RTypeMbp1            RType = 0x01 // mbp-1 and tbbo
	RTypeMbp10           RType = 0x0A
	RTypeOhlcvDeprecated RType = 0x11
	RTypeStatus          RType = 0x12
	RTypeInstrumentDef   RType = 0x13
	RTypeImbalance       RType = 0x14
	RTypeError           RType = 0x15
	RTypeSymbolMapping   RType = 0x16
	RTypeSystem          RType = 0x17
	RTypeStatistics      RType = 0x18
	RTypeOhlcv1S         RType = 0x20
	RTypeOhlcv1M         RType = 0x21
	RTypeOhlcv1H         RType = 0x22
	RTypeOhlcv1D         RType = 0x23
	RTypeOhlcvEod        RType = 0x24
	RTypeMbo             RType = 0xA0
	RTypeCmbp1           RType = 0xB1
	RTypeCbbo1S          RType = 0xC0
	RTypeCbbo1M          RType = 0xC1
	RTypeTcbbo           RType = 0xC2
	RTypeBbo1S           RType = 0xC3
	RTypeBbo1M           RType = 0xC4
)

var rtypeNames = map[RType]string{
	RTypeMbp0: "mbp-0", RTypeMbp1: "mbp-1", RTypeMbp10: "mbp-10",
	RTypeOhlcvDeprecated: "ohlcv-deprecated", RTypeOhlcv1S: "ohlcv-1s", RTypeOhlcv1M: "ohlcv-1m",
	RTypeOhlcv1H: "ohlcv-1h", RTypeOhlcv1D: "ohlcv-1d", RTypeOhlcvEod: "ohlcv-eod",
	RTypeStatus: "status", RTypeInstrumentDef: "instrument-def", RTypeImbalance: "imbalance",
	RTypeError: "error", RTypeSymbolMapping: "symbol-mapping", RTypeSystem: "system",
	RTypeStatistics: "statistics", RTypeMbo: "mbo", RTypeCmbp1: "cmbp-1",
	RTypeCbbo1S: "cbbo-1s", RTypeCbbo1M: "cbbo-1m", RTypeTcbbo: "tcbbo",
	RTypeBbo1S: "bbo-1s", RTypeBbo1M: "bbo-1m",
}

// String returns the reference name of the record type, e.g. "mbp-0", or
// "rtype(0xNN)" for an unknown value.
func (r RType) String() string {
	if s, ok := rtypeNames[r]; ok {
		return s
	}
	return fmt.Sprintf("rtype(0x%02x)", uint8(r))
}

// ParseRType parses a record type name as printed by RType.String.
func ParseRType(s string) (RType, error) {
	for k, v := range rtypeNames {
		if v == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("dbn: unknown rtype %q", s)
}

// Known reports whether the record type is one this package decodes.
func (r RType) Known() bool { return recordTypeByRType[r] != nil }

// Schema is a Databento data schema, encoded as u16 in DBN metadata.
type Schema uint16

// Schemas defined by Databento.
const (
	SchemaMbo        Schema = 0
	SchemaMbp1       Schema = 1
	SchemaMbp10      Schema = 2
	SchemaTbbo       Schema = 3
	SchemaTrades     Schema = 4
	SchemaOhlcv1S    Schema = 5
	SchemaOhlcv1M    Schema = 6
	SchemaOhlcv1H    Schema = 7
	SchemaOhlcv1D    Schema = 8
	SchemaDefinition Schema = 9
	SchemaStatistics Schema = 10
	SchemaStatus     Schema = 11
	SchemaImbalance  Schema = 12
	SchemaOhlcvEod   Schema = 13
	SchemaCmbp1      Schema = 14
	SchemaCbbo1S     Schema = 15
	SchemaCbbo1M     Schema = 16
	SchemaTcbbo      Schema = 17
	SchemaBbo1S      Schema = 18
	SchemaBbo1M      Schema = 19
	// SchemaNone is the metadata value for a stream mixing schemas (u16::MAX).
	SchemaNone Schema = math.MaxUint16
)

var schemaInfo = []struct {
	name  string
	rtype RType
}{
	SchemaMbo: {"mbo", RTypeMbo}, SchemaMbp1: {"mbp-1", RTypeMbp1}, SchemaMbp10: {"mbp-10", RTypeMbp10},
	SchemaTbbo: {"tbbo", RTypeMbp1}, SchemaTrades: {"trades", RTypeMbp0},
	SchemaOhlcv1S: {"ohlcv-1s", RTypeOhlcv1S}, SchemaOhlcv1M: {"ohlcv-1m", RTypeOhlcv1M},
	SchemaOhlcv1H: {"ohlcv-1h", RTypeOhlcv1H}, SchemaOhlcv1D: {"ohlcv-1d", RTypeOhlcv1D},
	SchemaDefinition: {"definition", RTypeInstrumentDef}, SchemaStatistics: {"statistics", RTypeStatistics},
	SchemaStatus: {"status", RTypeStatus}, SchemaImbalance: {"imbalance", RTypeImbalance},
	SchemaOhlcvEod: {"ohlcv-eod", RTypeOhlcvEod}, SchemaCmbp1: {"cmbp-1", RTypeCmbp1},
	SchemaCbbo1S: {"cbbo-1s", RTypeCbbo1S}, SchemaCbbo1M: {"cbbo-1m", RTypeCbbo1M},
	SchemaTcbbo: {"tcbbo", RTypeTcbbo}, SchemaBbo1S: {"bbo-1s", RTypeBbo1S}, SchemaBbo1M: {"bbo-1m", RTypeBbo1M},
}

// Schemas lists every schema, in code order.
func Schemas() []Schema {
	out := make([]Schema, len(schemaInfo))
	for i := range schemaInfo {
		out[i] = Schema(i)
	}
	return out
}

// Valid reports whether s is a defined schema (SchemaNone is not).
func (s Schema) Valid() bool { return int(s) < len(schemaInfo) }

// String returns the schema's name, e.g. "ohlcv-1s"; "" for SchemaNone.
func (s Schema) String() string {
	if s.Valid() {
		return schemaInfo[s].name
	}
	if s == SchemaNone {
		return ""
	}
	return fmt.Sprintf("schema(%d)", uint16(s))
}

// RType returns the record type of the schema's records.
func (s Schema) RType() (RType, bool) {
	if !s.Valid() {
		return 0, false
	}
	return schemaInfo[s].rtype, true
}

// RecordType returns the descriptor of the schema's record type.
func (s Schema) RecordType() *RecordType {
	rt, ok := s.RType()
	if !ok {
		return nil
	}
	return LookupRType(rt)
}

// ParseSchema parses a schema name such as "mbp-10" or "ohlcv-1d".
func ParseSchema(name string) (Schema, error) {
	for i, si := range schemaInfo {
		if si.name == name {
			return Schema(i), nil
		}
	}
	return SchemaNone, fmt.Errorf("dbn: unknown schema %q", name)
}

// SType is a symbology type, encoded as u8 in DBN.
type SType uint8

// Symbology types defined by Databento.
const (
	STypeInstrumentID  SType = 0
	STypeRawSymbol     SType = 1
	STypeSmart         SType = 2 // Deprecated: split into continuous and parent.
	STypeContinuous    SType = 3
	STypeParent        SType = 4
	STypeNasdaqSymbol  SType = 5
	STypeCmsSymbol     SType = 6
	STypeIsin          SType = 7
	STypeUsCode        SType = 8
	STypeBbgCompID     SType = 9
	STypeBbgCompTicker SType = 10
	STypeFigi          SType = 11
	STypeFigiTicker    SType = 12
	// STypeNone is the metadata value for "no stype_in" (u8::MAX).
	STypeNone SType = math.MaxUint8
)

var stypeNames = []string{
	"instrument_id", "raw_symbol", "smart", "continuous", "parent", "nasdaq_symbol", "cms_symbol",
	"isin", "us_code", "bbg_comp_id", "bbg_comp_ticker", "figi", "figi_ticker",
}

// Valid reports whether s is a defined symbology type.
func (s SType) Valid() bool { return int(s) < len(stypeNames) }

// String returns the reference name, e.g. "raw_symbol"; "" for STypeNone.
func (s SType) String() string {
	if s.Valid() {
		return stypeNames[s]
	}
	if s == STypeNone {
		return ""
	}
	return fmt.Sprintf("stype(%d)", uint8(s))
}

// ParseSType parses a symbology type name; the legacy aliases "product_id",
// "native", "nasdaq" and "cms" are accepted as the reference does.
func ParseSType(name string) (SType, error) {
	switch name {
	case "product_id":
		return STypeInstrumentID, nil
	case "native":
		return STypeRawSymbol, nil
	case "nasdaq":
		return STypeNasdaqSymbol, nil
	case "cms":
		return STypeCmsSymbol, nil
	}
	for i, n := range stypeNames {
		if n == name {
			return SType(i), nil
		}
	}
	return STypeNone, fmt.Errorf("dbn: unknown stype %q", name)
}

// Record flag bits (the flags field of mbo, mbp and trade records).
const (
	FlagLast              uint8 = 1 << 7
	FlagTob               uint8 = 1 << 6
	FlagSnapshot          uint8 = 1 << 5
	FlagMbp               uint8 = 1 << 4
	FlagBadTsRecv         uint8 = 1 << 3
	FlagMaybeBadBook      uint8 = 1 << 2
	FlagPublisherSpecific uint8 = 1 << 1
)

// Side and action characters used in market data records.
const (
	SideAsk  byte = 'A'
	SideBid  byte = 'B'
	SideNone byte = 'N'

	ActionModify byte = 'M'
	ActionTrade  byte = 'T'
	ActionFill   byte = 'F'
	ActionCancel byte = 'C'
	ActionAdd    byte = 'A'
	ActionClear  byte = 'R'
	ActionNone   byte = 'N'
)

// StatType values of StatMsg.StatType.
const (
	StatOpeningPrice            uint16 = 1
	StatIndicativeOpeningPrice  uint16 = 2
	StatSettlementPrice         uint16 = 3
	StatTradingSessionLowPrice  uint16 = 4
	StatTradingSessionHighPrice uint16 = 5
	StatClearedVolume           uint16 = 6
	StatLowestOffer             uint16 = 7
	StatHighestBid              uint16 = 8
	StatOpenInterest            uint16 = 9
	StatFixingPrice             uint16 = 10
	StatClosePrice              uint16 = 11
	StatNetChange               uint16 = 12
	StatVwap                    uint16 = 13
	StatVolatility              uint16 = 14
	StatDelta                   uint16 = 15
	StatUncrossingPrice         uint16 = 16
	StatUpperPriceLimit         uint16 = 17
	StatLowerPriceLimit         uint16 = 18
	StatBlockVolume             uint16 = 19
	StatVenueSpecificVolume1    uint16 = 10001
)

// Error and system codes (ErrorMsg.Code, SystemMsg.Code).
const (
	ErrorCodeAuthFailed                     uint8 = 1
	ErrorCodeAPIKeyDeactivated              uint8 = 2
	ErrorCodeConnectionLimitExceeded        uint8 = 3
	ErrorCodeSymbolResolutionFailed         uint8 = 4
	ErrorCodeInvalidSubscription            uint8 = 5
	ErrorCodeInternalError                  uint8 = 6
	ErrorCodeSkippedRecordsAfterSlowReading uint8 = 7
	ErrorCodeUnset                          uint8 = 255

	SystemCodeHeartbeat         uint8 = 0
	SystemCodeSubscriptionAck   uint8 = 1
	SystemCodeSlowReaderWarning uint8 = 2
	SystemCodeReplayCompleted   uint8 = 3
	SystemCodeEndOfInterval     uint8 = 4
	SystemCodeUnset             uint8 = 255
)
