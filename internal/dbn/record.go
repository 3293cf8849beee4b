package dbn

import (
	"bytes"
	"fmt"
)

// Record is implemented by pointers to every typed record struct (v3
// layouts, and the v1/v2 layouts kept for upgrading).
type Record interface {
	// Header returns the record's header.
	Header() *RecordHeader
	// EncodedLen returns the record's size in bytes, without ts_out.
	EncodedLen() int
	// Decode sets the record from the first EncodedLen bytes of b.
	Decode(b []byte) error
	// Encode writes the record into the first EncodedLen bytes of b; the
	// header's Length is written as stored (Encoder fixes it up).
	Encode(b []byte)
}

func errShortRecord(name string, have, want int) error {
	return fmt.Errorf("dbn: %s needs %d bytes, have %d", name, want, have)
}

// CString returns the bytes of a NUL-padded c-string field up to the first
// NUL, as a string (it allocates).
func CString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// SetCString copies s into the c-string field dst, NUL-padding it; s is
// truncated so that at least one NUL byte remains.
func SetCString(dst []byte, s string) {
	n := copy(dst[:max(len(dst)-1, 0)], s)
	clear(dst[n:])
}

// RawSymbolString returns the definition's raw_symbol.
func (m *InstrumentDefMsg) RawSymbolString() string { return CString(m.RawSymbol[:]) }

// STypeOutSymbolString returns the mapping's stype_out_symbol.
func (m *SymbolMappingMsg) STypeOutSymbolString() string { return CString(m.STypeOutSymbol[:]) }

// STypeInSymbolString returns the mapping's stype_in_symbol.
func (m *SymbolMappingMsg) STypeInSymbolString() string { return CString(m.STypeInSymbol[:]) }

// newHeader returns a header for a record of type rt with its length set.
func newHeader(rt RType, size int) RecordHeader {
	return RecordHeader{Length: uint8(size / LengthMultiplier), RType: rt, TsEvent: UndefTimestamp}
}

// NewInstrumentDefMsg returns a definition with every field at the
// reference's default ("undefined") value.
func NewInstrumentDefMsg() *InstrumentDefMsg {
	m := &InstrumentDefMsg{}
	m.setDefaults()
	return m
}

func (m *InstrumentDefMsg) setDefaults() {
	*m = InstrumentDefMsg{
		RecordHeader:            newHeader(RTypeInstrumentDef, 520),
		TsRecv:                  UndefTimestamp,
		MinPriceIncrement:       UndefPrice,
		DisplayFactor:           UndefPrice,
		Expiration:              UndefTimestamp,
		Activation:              UndefTimestamp,
		HighLimitPrice:          UndefPrice,
		LowLimitPrice:           UndefPrice,
		MaxPriceVariation:       UndefPrice,
		UnitOfMeasureQty:        UndefPrice,
		MinPriceIncrementAmount: UndefPrice,
		PriceRatio:              UndefPrice,
		StrikePrice:             UndefPrice,
		LegPrice:                UndefPrice,
		LegDelta:                UndefPrice,
		InstAttribValue:         1<<31 - 1,
		MarketDepthImplied:      1<<31 - 1,
		MarketDepth:             1<<31 - 1,
		MarketSegmentID:         1<<32 - 1,
		MaxTradeVol:             1<<32 - 1,
		MinLotSize:              1<<31 - 1,
		MinLotSizeBlock:         1<<31 - 1,
		MinLotSizeRoundLot:      1<<31 - 1,
		MinTradeVol:             1<<32 - 1,
		ContractMultiplier:      1<<31 - 1,
		DecayQuantity:           1<<31 - 1,
		OriginalContractSize:    1<<31 - 1,
		ApplID:                  1<<15 - 1,
		MaturityYear:            1<<16 - 1,
		DecayStartDate:          1<<16 - 1,
		ChannelID:               1<<16 - 1,
		MatchAlgorithm:          ' ',
		MainFraction:            255,
		PriceDisplayFormat:      255,
		SubFraction:             255,
		UnderlyingProduct:       255,
		SecurityUpdateAction:    'A',
		MaturityMonth:           255,
		MaturityDay:             255,
		MaturityWeek:            255,
		UserDefinedInstrument:   'N',
		ContractMultiplierUnit:  127,
		FlowScheduleType:        127,
		TickRule:                255,
		LegSide:                 SideNone,
	}
}

// upgradeDefV1 converts a v1 definition into the v3 layout as the reference
// decoder does: shared fields copied, raw_symbol and asset widened, fields
// new in v2/v3 (leg_*, etc.) left at their defaults, and fields dropped in
// v3 (trading_reference_price, trading_reference_date,
// md_security_trading_status, settl_price_type) discarded.
func upgradeDefV1(old *InstrumentDefMsgV1, m *InstrumentDefMsg) {
	m.setDefaults()
	m.PublisherID, m.InstrumentID, m.TsEvent = old.PublisherID, old.InstrumentID, old.TsEvent
	m.TsRecv = old.TsRecv
	m.MinPriceIncrement = old.MinPriceIncrement
	m.DisplayFactor = old.DisplayFactor
	m.Expiration = old.Expiration
	m.Activation = old.Activation
	m.HighLimitPrice = old.HighLimitPrice
	m.LowLimitPrice = old.LowLimitPrice
	m.MaxPriceVariation = old.MaxPriceVariation
	m.UnitOfMeasureQty = old.UnitOfMeasureQty
	m.MinPriceIncrementAmount = old.MinPriceIncrementAmount
	m.PriceRatio = old.PriceRatio
	m.InstAttribValue = old.InstAttribValue
	m.UnderlyingID = old.UnderlyingID
	m.RawInstrumentID = uint64(old.RawInstrumentID)
	m.MarketDepthImplied = old.MarketDepthImplied
	m.MarketDepth = old.MarketDepth
	m.MarketSegmentID = old.MarketSegmentID
	m.MaxTradeVol = old.MaxTradeVol
	m.MinLotSize = old.MinLotSize
	m.MinLotSizeBlock = old.MinLotSizeBlock
	m.MinLotSizeRoundLot = old.MinLotSizeRoundLot
	m.MinTradeVol = old.MinTradeVol
	m.ContractMultiplier = old.ContractMultiplier
	m.DecayQuantity = old.DecayQuantity
	m.OriginalContractSize = old.OriginalContractSize
	m.ApplID = old.ApplID
	m.MaturityYear = old.MaturityYear
	m.DecayStartDate = old.DecayStartDate
	m.ChannelID = old.ChannelID
	m.Currency = old.Currency
	m.SettlCurrency = old.SettlCurrency
	m.Secsubtype = old.Secsubtype
	copy(m.RawSymbol[:], old.RawSymbol[:])
	m.Group = old.Group
	m.Exchange = old.Exchange
	copy(m.Asset[:], old.Asset[:])
	m.Cfi = old.Cfi
	m.SecurityType = old.SecurityType
	m.UnitOfMeasure = old.UnitOfMeasure
	m.Underlying = old.Underlying
	m.StrikePriceCurrency = old.StrikePriceCurrency
	m.InstrumentClass = old.InstrumentClass
	m.StrikePrice = old.StrikePrice
	m.MatchAlgorithm = old.MatchAlgorithm
	m.MainFraction = old.MainFraction
	m.PriceDisplayFormat = old.PriceDisplayFormat
	m.SubFraction = old.SubFraction
	m.UnderlyingProduct = old.UnderlyingProduct
	m.SecurityUpdateAction = old.SecurityUpdateAction
	m.MaturityMonth = old.MaturityMonth
	m.MaturityDay = old.MaturityDay
	m.MaturityWeek = old.MaturityWeek
	m.UserDefinedInstrument = old.UserDefinedInstrument
	m.ContractMultiplierUnit = old.ContractMultiplierUnit
	m.FlowScheduleType = old.FlowScheduleType
	m.TickRule = old.TickRule
}

// upgradeDefV2 converts a v2 definition into the v3 layout (see upgradeDefV1).
func upgradeDefV2(old *InstrumentDefMsgV2, m *InstrumentDefMsg) {
	m.setDefaults()
	m.PublisherID, m.InstrumentID, m.TsEvent = old.PublisherID, old.InstrumentID, old.TsEvent
	m.TsRecv = old.TsRecv
	m.MinPriceIncrement = old.MinPriceIncrement
	m.DisplayFactor = old.DisplayFactor
	m.Expiration = old.Expiration
	m.Activation = old.Activation
	m.HighLimitPrice = old.HighLimitPrice
	m.LowLimitPrice = old.LowLimitPrice
	m.MaxPriceVariation = old.MaxPriceVariation
	m.UnitOfMeasureQty = old.UnitOfMeasureQty
	m.MinPriceIncrementAmount = old.MinPriceIncrementAmount
	m.PriceRatio = old.PriceRatio
	m.InstAttribValue = old.InstAttribValue
	m.UnderlyingID = old.UnderlyingID
	m.RawInstrumentID = uint64(old.RawInstrumentID)
	m.MarketDepthImplied = old.MarketDepthImplied
	m.MarketDepth = old.MarketDepth
	m.MarketSegmentID = old.MarketSegmentID
	m.MaxTradeVol = old.MaxTradeVol
	m.MinLotSize = old.MinLotSize
	m.MinLotSizeBlock = old.MinLotSizeBlock
	m.MinLotSizeRoundLot = old.MinLotSizeRoundLot
	m.MinTradeVol = old.MinTradeVol
	m.ContractMultiplier = old.ContractMultiplier
	m.DecayQuantity = old.DecayQuantity
	m.OriginalContractSize = old.OriginalContractSize
	m.ApplID = old.ApplID
	m.MaturityYear = old.MaturityYear
	m.DecayStartDate = old.DecayStartDate
	m.ChannelID = old.ChannelID
	m.Currency = old.Currency
	m.SettlCurrency = old.SettlCurrency
	m.Secsubtype = old.Secsubtype
	m.RawSymbol = old.RawSymbol
	m.Group = old.Group
	m.Exchange = old.Exchange
	copy(m.Asset[:], old.Asset[:])
	m.Cfi = old.Cfi
	m.SecurityType = old.SecurityType
	m.UnitOfMeasure = old.UnitOfMeasure
	m.Underlying = old.Underlying
	m.StrikePriceCurrency = old.StrikePriceCurrency
	m.InstrumentClass = old.InstrumentClass
	m.StrikePrice = old.StrikePrice
	m.MatchAlgorithm = old.MatchAlgorithm
	m.MainFraction = old.MainFraction
	m.PriceDisplayFormat = old.PriceDisplayFormat
	m.SubFraction = old.SubFraction
	m.UnderlyingProduct = old.UnderlyingProduct
	m.SecurityUpdateAction = old.SecurityUpdateAction
	m.MaturityMonth = old.MaturityMonth
	m.MaturityDay = old.MaturityDay
	m.MaturityWeek = old.MaturityWeek
	m.UserDefinedInstrument = old.UserDefinedInstrument
	m.ContractMultiplierUnit = old.ContractMultiplierUnit
	m.FlowScheduleType = old.FlowScheduleType
	m.TickRule = old.TickRule
}

// upgradeStatV1 widens a v1/v2 statistics record to v3: the i32 quantity
// becomes i64, mapping the i32::MAX sentinel to i64::MAX.
func upgradeStatV1(old *StatMsgV1, m *StatMsg) {
	*m = StatMsg{
		RecordHeader: newHeader(RTypeStatistics, 80),
		TsRecv:       old.TsRecv,
		TsRef:        old.TsRef,
		Price:        old.Price,
		Quantity:     int64(old.Quantity),
		Sequence:     old.Sequence,
		TsInDelta:    old.TsInDelta,
		StatType:     old.StatType,
		ChannelID:    old.ChannelID,
		UpdateAction: old.UpdateAction,
		StatFlags:    old.StatFlags,
	}
	if old.Quantity == UndefStatQuantityV1 {
		m.Quantity = UndefStatQuantity
	}
	m.PublisherID, m.InstrumentID, m.TsEvent = old.PublisherID, old.InstrumentID, old.TsEvent
}

// upgradeSymbolMappingV1 widens the symbols to 71 bytes; stype_in and
// stype_out, absent in v1, are set to u8::MAX as the reference does.
func upgradeSymbolMappingV1(old *SymbolMappingMsgV1, m *SymbolMappingMsg) {
	*m = SymbolMappingMsg{
		RecordHeader: newHeader(RTypeSymbolMapping, 176),
		STypeIn:      STypeNone,
		STypeOut:     STypeNone,
		StartTs:      old.StartTs,
		EndTs:        old.EndTs,
	}
	m.PublisherID, m.InstrumentID, m.TsEvent = old.PublisherID, old.InstrumentID, old.TsEvent
	copy(m.STypeInSymbol[:], old.STypeInSymbol[:])
	copy(m.STypeOutSymbol[:], old.STypeOutSymbol[:])
}

// upgradeErrorV1 widens the message to 302 bytes and infers the error code
// from the text, as the reference does; is_last is u8::MAX (unknown).
func upgradeErrorV1(old *ErrorMsgV1, m *ErrorMsg) {
	*m = ErrorMsg{RecordHeader: newHeader(RTypeError, 320), Code: ErrorCodeUnset, IsLast: 255}
	m.PublisherID, m.InstrumentID, m.TsEvent = old.PublisherID, old.InstrumentID, old.TsEvent
	copy(m.Err[:], old.Err[:])
	msg := CString(old.Err[:])
	switch {
	case msg == "User or API key deactivated":
		m.Code = ErrorCodeAPIKeyDeactivated
	case msg == "User has reached their open connection limit":
		m.Code = ErrorCodeConnectionLimitExceeded
	case hasPrefix(msg, "Failed to resolve symbol"):
		m.Code = ErrorCodeSymbolResolutionFailed
	case msg == "Internal error":
		m.Code = ErrorCodeInternalError
	case hasPrefix(msg, "Slow client detected for "):
		m.Code = ErrorCodeSkippedRecordsAfterSlowReading
	}
}

// upgradeSystemV1 widens the message to 303 bytes and infers the system code
// from the text, as the reference does.
func upgradeSystemV1(old *SystemMsgV1, m *SystemMsg) {
	*m = SystemMsg{RecordHeader: newHeader(RTypeSystem, 320), Code: SystemCodeUnset}
	m.PublisherID, m.InstrumentID, m.TsEvent = old.PublisherID, old.InstrumentID, old.TsEvent
	copy(m.Msg[:], old.Msg[:])
	msg := CString(old.Msg[:])
	switch {
	case msg == "Heartbeat":
		m.Code = SystemCodeHeartbeat
	case hasPrefix(msg, "End of interval for "):
		m.Code = SystemCodeEndOfInterval
	case hasPrefix(msg, "Subscription request ") && hasSuffix(msg, " succeeded"):
		m.Code = SystemCodeSubscriptionAck
	case hasPrefix(msg, "Warning: slow reading"):
		m.Code = SystemCodeSlowReaderWarning
	case hasPrefix(msg, "Finished ") && hasSuffix(msg, " replay"):
		m.Code = SystemCodeReplayCompleted
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
func hasSuffix(s, p string) bool { return len(s) >= len(p) && s[len(s)-len(p):] == p }
