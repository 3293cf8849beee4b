package dbn

// This file declares the v3 record layouts (and the v1/v2 layouts that are
// upgraded on decode). The Go structs mirror the C layouts exactly: every
// field is naturally aligned and there is no implicit padding, so the offsets
// reflect reports are the wire offsets. The `dbn` struct tags carry the
// Databento field name, its semantic kind and display order; the field
// descriptor table (fields.go) and the generated codec (codec_gen.go) are
// both derived from them.
//
// Tag syntax: `dbn:"name,kind[,undef][,index][,order=N]"` where kind is one of
// int, price, ts, char, cstr, flags or skip; undef marks the wire type's
// maximum value as the "undefined" sentinel; index marks the index timestamp;
// order=N is the reference encoder's encode_order (output column position).

// RecordHeader is the 16-byte header common to every DBN record.
type RecordHeader struct {
	// Length is the record length in 4-byte units, ts_out included.
	Length uint8 `dbn:"length,skip"`
	// RType is the record type.
	RType RType `dbn:"rtype,int"`
	// PublisherID identifies the dataset and venue.
	PublisherID uint16 `dbn:"publisher_id,int"`
	// InstrumentID is the numeric instrument ID (unique per dataset and day).
	InstrumentID uint32 `dbn:"instrument_id,int"`
	// TsEvent is the matching-engine timestamp, nanoseconds since the UNIX epoch.
	TsEvent uint64 `dbn:"ts_event,ts,undef,order=0"`
}

// Header returns the record header; every record type embeds RecordHeader
// and so gets this method.
func (h *RecordHeader) Header() *RecordHeader { return h }

// BidAskPair is one level of a market-by-price book.
type BidAskPair struct {
	BidPx int64  `dbn:"bid_px,price,undef"`
	AskPx int64  `dbn:"ask_px,price,undef"`
	BidSz uint32 `dbn:"bid_sz,int"`
	AskSz uint32 `dbn:"ask_sz,int"`
	BidCt uint32 `dbn:"bid_ct,int"`
	AskCt uint32 `dbn:"ask_ct,int"`
}

// ConsolidatedBidAskPair is one level of a consolidated book, with the
// publisher of each side.
type ConsolidatedBidAskPair struct {
	BidPx int64   `dbn:"bid_px,price,undef"`
	AskPx int64   `dbn:"ask_px,price,undef"`
	BidSz uint32  `dbn:"bid_sz,int"`
	AskSz uint32  `dbn:"ask_sz,int"`
	BidPb uint16  `dbn:"bid_pb,int"`
	_     [2]byte `dbn:"_reserved1,skip"`
	AskPb uint16  `dbn:"ask_pb,int"`
	_     [2]byte `dbn:"_reserved2,skip"`
}

// MboMsg is a market-by-order event (schema mbo, rtype 0xA0). 56 bytes.
type MboMsg struct {
	RecordHeader
	OrderID   uint64 `dbn:"order_id,int"`
	Price     int64  `dbn:"price,price,undef,order=4"`
	Size      uint32 `dbn:"size,int,undef,order=5"`
	Flags     uint8  `dbn:"flags,flags"`
	ChannelID uint8  `dbn:"channel_id,int,order=6"`
	Action    byte   `dbn:"action,char,order=2"`
	Side      byte   `dbn:"side,char,order=3"`
	TsRecv    uint64 `dbn:"ts_recv,ts,undef,index,order=0"`
	TsInDelta int32  `dbn:"ts_in_delta,int"`
	Sequence  uint32 `dbn:"sequence,int"`
}

// TradeMsg is a trade (schema trades, mbp-0, rtype 0x00). 48 bytes.
type TradeMsg struct {
	RecordHeader
	Price     int64  `dbn:"price,price,undef"`
	Size      uint32 `dbn:"size,int,undef"`
	Action    byte   `dbn:"action,char,order=2"`
	Side      byte   `dbn:"side,char,order=3"`
	Flags     uint8  `dbn:"flags,flags"`
	Depth     uint8  `dbn:"depth,int,order=4"`
	TsRecv    uint64 `dbn:"ts_recv,ts,undef,index,order=0"`
	TsInDelta int32  `dbn:"ts_in_delta,int"`
	Sequence  uint32 `dbn:"sequence,int"`
}

// Mbp0Msg is another name for TradeMsg.
type Mbp0Msg = TradeMsg

// Mbp1Msg is a top-of-book event (schemas mbp-1 and tbbo, rtype 0x01). 80 bytes.
type Mbp1Msg struct {
	RecordHeader
	Price     int64         `dbn:"price,price,undef"`
	Size      uint32        `dbn:"size,int,undef"`
	Action    byte          `dbn:"action,char,order=2"`
	Side      byte          `dbn:"side,char,order=3"`
	Flags     uint8         `dbn:"flags,flags"`
	Depth     uint8         `dbn:"depth,int,order=4"`
	TsRecv    uint64        `dbn:"ts_recv,ts,undef,index,order=0"`
	TsInDelta int32         `dbn:"ts_in_delta,int"`
	Sequence  uint32        `dbn:"sequence,int"`
	Levels    [1]BidAskPair `dbn:"levels,int"`
}

// TbboMsg is another name for Mbp1Msg.
type TbboMsg = Mbp1Msg

// Mbp10Msg is a 10-level book event (schema mbp-10, rtype 0x0A). 368 bytes.
type Mbp10Msg struct {
	RecordHeader
	Price     int64          `dbn:"price,price,undef"`
	Size      uint32         `dbn:"size,int,undef"`
	Action    byte           `dbn:"action,char,order=2"`
	Side      byte           `dbn:"side,char,order=3"`
	Flags     uint8          `dbn:"flags,flags"`
	Depth     uint8          `dbn:"depth,int,order=4"`
	TsRecv    uint64         `dbn:"ts_recv,ts,undef,index,order=0"`
	TsInDelta int32          `dbn:"ts_in_delta,int"`
	Sequence  uint32         `dbn:"sequence,int"`
	Levels    [10]BidAskPair `dbn:"levels,int"`
}

// BboMsg is a subsampled best bid and offer (schemas bbo-1s, bbo-1m; rtypes
// 0xC3, 0xC4). 80 bytes.
type BboMsg struct {
	RecordHeader
	Price    int64         `dbn:"price,price,undef"`
	Size     uint32        `dbn:"size,int,undef"`
	_        uint8         `dbn:"_reserved1,skip"`
	Side     byte          `dbn:"side,char,order=2"`
	Flags    uint8         `dbn:"flags,flags"`
	_        uint8         `dbn:"_reserved2,skip"`
	TsRecv   uint64        `dbn:"ts_recv,ts,undef,index,order=0"`
	_        [4]byte       `dbn:"_reserved3,skip"`
	Sequence uint32        `dbn:"sequence,int"`
	Levels   [1]BidAskPair `dbn:"levels,int"`
}

// Cmbp1Msg is a consolidated top-of-book event (schemas cmbp-1 and tcbbo;
// rtypes 0xB1, 0xC2). 80 bytes.
type Cmbp1Msg struct {
	RecordHeader
	Price     int64                     `dbn:"price,price,undef"`
	Size      uint32                    `dbn:"size,int,undef"`
	Action    byte                      `dbn:"action,char,order=2"`
	Side      byte                      `dbn:"side,char,order=3"`
	Flags     uint8                     `dbn:"flags,flags"`
	_         [1]byte                   `dbn:"_reserved1,skip"`
	TsRecv    uint64                    `dbn:"ts_recv,ts,undef,index,order=0"`
	TsInDelta int32                     `dbn:"ts_in_delta,int"`
	_         [4]byte                   `dbn:"_reserved2,skip"`
	Levels    [1]ConsolidatedBidAskPair `dbn:"levels,int"`
}

// TcbboMsg is another name for Cmbp1Msg.
type TcbboMsg = Cmbp1Msg

// CbboMsg is a subsampled consolidated BBO (schemas cbbo-1s, cbbo-1m; rtypes
// 0xC0, 0xC1). 80 bytes.
type CbboMsg struct {
	RecordHeader
	Price  int64                     `dbn:"price,price,undef"`
	Size   uint32                    `dbn:"size,int,undef"`
	_      uint8                     `dbn:"_reserved1,skip"`
	Side   byte                      `dbn:"side,char,order=2"`
	Flags  uint8                     `dbn:"flags,flags"`
	_      uint8                     `dbn:"_reserved2,skip"`
	TsRecv uint64                    `dbn:"ts_recv,ts,undef,index,order=0"`
	_      [8]byte                   `dbn:"_reserved3,skip"`
	Levels [1]ConsolidatedBidAskPair `dbn:"levels,int"`
}

// OhlcvMsg is an aggregate bar (schemas ohlcv-1s/1m/1h/1d/eod; rtypes
// 0x20-0x24, and the deprecated 0x11). 56 bytes.
type OhlcvMsg struct {
	RecordHeader
	Open   int64  `dbn:"open,price,undef"`
	High   int64  `dbn:"high,price,undef"`
	Low    int64  `dbn:"low,price,undef"`
	Close  int64  `dbn:"close,price,undef"`
	Volume uint64 `dbn:"volume,int"`
}

// StatusMsg is a trading status update (schema status, rtype 0x12). 40 bytes.
type StatusMsg struct {
	RecordHeader
	TsRecv                uint64  `dbn:"ts_recv,ts,undef,index,order=0"`
	Action                uint16  `dbn:"action,int"`
	Reason                uint16  `dbn:"reason,int"`
	TradingEvent          uint16  `dbn:"trading_event,int"`
	IsTrading             byte    `dbn:"is_trading,char"`
	IsQuoting             byte    `dbn:"is_quoting,char"`
	IsShortSellRestricted byte    `dbn:"is_short_sell_restricted,char"`
	_                     [7]byte `dbn:"_reserved,skip"`
}

// InstrumentDefMsg is an instrument definition (schema definition, rtype
// 0x13), DBN v3 layout. 520 bytes.
type InstrumentDefMsg struct {
	RecordHeader
	TsRecv                   uint64              `dbn:"ts_recv,ts,undef,index,order=0"`
	MinPriceIncrement        int64               `dbn:"min_price_increment,price,undef"`
	DisplayFactor            int64               `dbn:"display_factor,price,undef"`
	Expiration               uint64              `dbn:"expiration,ts,undef"`
	Activation               uint64              `dbn:"activation,ts,undef"`
	HighLimitPrice           int64               `dbn:"high_limit_price,price,undef"`
	LowLimitPrice            int64               `dbn:"low_limit_price,price,undef"`
	MaxPriceVariation        int64               `dbn:"max_price_variation,price,undef"`
	UnitOfMeasureQty         int64               `dbn:"unit_of_measure_qty,price,undef"`
	MinPriceIncrementAmount  int64               `dbn:"min_price_increment_amount,price,undef"`
	PriceRatio               int64               `dbn:"price_ratio,price,undef"`
	StrikePrice              int64               `dbn:"strike_price,price,undef,order=54"`
	RawInstrumentID          uint64              `dbn:"raw_instrument_id,int,order=20"`
	LegPrice                 int64               `dbn:"leg_price,price,undef,order=165"`
	LegDelta                 int64               `dbn:"leg_delta,price,undef,order=166"`
	InstAttribValue          int32               `dbn:"inst_attrib_value,flags"`
	UnderlyingID             uint32              `dbn:"underlying_id,int"`
	MarketDepthImplied       int32               `dbn:"market_depth_implied,int,undef"`
	MarketDepth              int32               `dbn:"market_depth,int,undef"`
	MarketSegmentID          uint32              `dbn:"market_segment_id,int,undef"`
	MaxTradeVol              uint32              `dbn:"max_trade_vol,int,undef"`
	MinLotSize               int32               `dbn:"min_lot_size,int,undef"`
	MinLotSizeBlock          int32               `dbn:"min_lot_size_block,int,undef"`
	MinLotSizeRoundLot       int32               `dbn:"min_lot_size_round_lot,int,undef"`
	MinTradeVol              uint32              `dbn:"min_trade_vol,int,undef"`
	ContractMultiplier       int32               `dbn:"contract_multiplier,int,undef"`
	DecayQuantity            int32               `dbn:"decay_quantity,int,undef"`
	OriginalContractSize     int32               `dbn:"original_contract_size,int,undef"`
	LegInstrumentID          uint32              `dbn:"leg_instrument_id,int,order=160"`
	LegRatioPriceNumerator   int32               `dbn:"leg_ratio_price_numerator,int,order=167"`
	LegRatioPriceDenominator int32               `dbn:"leg_ratio_price_denominator,int,order=168"`
	LegRatioQtyNumerator     int32               `dbn:"leg_ratio_qty_numerator,int,order=169"`
	LegRatioQtyDenominator   int32               `dbn:"leg_ratio_qty_denominator,int,order=170"`
	LegUnderlyingID          uint32              `dbn:"leg_underlying_id,int,order=171"`
	ApplID                   int16               `dbn:"appl_id,int,undef"`
	MaturityYear             uint16              `dbn:"maturity_year,int,undef"`
	DecayStartDate           uint16              `dbn:"decay_start_date,int,undef"`
	ChannelID                uint16              `dbn:"channel_id,int,undef"`
	LegCount                 uint16              `dbn:"leg_count,int,order=158"`
	LegIndex                 uint16              `dbn:"leg_index,int,order=159"`
	Currency                 [4]byte             `dbn:"currency,cstr"`
	SettlCurrency            [4]byte             `dbn:"settl_currency,cstr"`
	Secsubtype               [6]byte             `dbn:"secsubtype,cstr"`
	RawSymbol                [SymbolCstrLen]byte `dbn:"raw_symbol,cstr,order=2"`
	Group                    [21]byte            `dbn:"group,cstr"`
	Exchange                 [5]byte             `dbn:"exchange,cstr"`
	Asset                    [AssetCstrLen]byte  `dbn:"asset,cstr"`
	Cfi                      [7]byte             `dbn:"cfi,cstr"`
	SecurityType             [7]byte             `dbn:"security_type,cstr"`
	UnitOfMeasure            [31]byte            `dbn:"unit_of_measure,cstr"`
	Underlying               [21]byte            `dbn:"underlying,cstr"`
	StrikePriceCurrency      [4]byte             `dbn:"strike_price_currency,cstr"`
	LegRawSymbol             [SymbolCstrLen]byte `dbn:"leg_raw_symbol,cstr,order=161"`
	InstrumentClass          byte                `dbn:"instrument_class,char,order=4"`
	MatchAlgorithm           byte                `dbn:"match_algorithm,char"`
	MainFraction             uint8               `dbn:"main_fraction,int,undef"`
	PriceDisplayFormat       uint8               `dbn:"price_display_format,int,undef"`
	SubFraction              uint8               `dbn:"sub_fraction,int,undef"`
	UnderlyingProduct        uint8               `dbn:"underlying_product,int,undef"`
	SecurityUpdateAction     byte                `dbn:"security_update_action,char,order=3"`
	MaturityMonth            uint8               `dbn:"maturity_month,int,undef"`
	MaturityDay              uint8               `dbn:"maturity_day,int,undef"`
	MaturityWeek             uint8               `dbn:"maturity_week,int,undef"`
	UserDefinedInstrument    byte                `dbn:"user_defined_instrument,char"`
	ContractMultiplierUnit   int8                `dbn:"contract_multiplier_unit,int,undef"`
	FlowScheduleType         int8                `dbn:"flow_schedule_type,int,undef"`
	TickRule                 uint8               `dbn:"tick_rule,int,undef"`
	LegInstrumentClass       byte                `dbn:"leg_instrument_class,char,order=163"`
	LegSide                  byte                `dbn:"leg_side,char,order=164"`
	_                        [17]byte            `dbn:"_reserved,skip"`
}

// ImbalanceMsg is an auction imbalance (schema imbalance, rtype 0x14). 112 bytes.
type ImbalanceMsg struct {
	RecordHeader
	TsRecv               uint64  `dbn:"ts_recv,ts,undef,index,order=0"`
	RefPrice             int64   `dbn:"ref_price,price,undef"`
	AuctionTime          uint64  `dbn:"auction_time,ts,undef"`
	ContBookClrPrice     int64   `dbn:"cont_book_clr_price,price,undef"`
	AuctInterestClrPrice int64   `dbn:"auct_interest_clr_price,price,undef"`
	SsrFillingPrice      int64   `dbn:"ssr_filling_price,price,undef"`
	IndMatchPrice        int64   `dbn:"ind_match_price,price,undef"`
	UpperCollar          int64   `dbn:"upper_collar,price,undef"`
	LowerCollar          int64   `dbn:"lower_collar,price,undef"`
	PairedQty            uint32  `dbn:"paired_qty,int,undef"`
	TotalImbalanceQty    uint32  `dbn:"total_imbalance_qty,int,undef"`
	MarketImbalanceQty   uint32  `dbn:"market_imbalance_qty,int,undef"`
	UnpairedQty          uint32  `dbn:"unpaired_qty,int,undef"`
	AuctionType          byte    `dbn:"auction_type,char"`
	Side                 byte    `dbn:"side,char"`
	AuctionStatus        uint8   `dbn:"auction_status,int"`
	FreezeStatus         uint8   `dbn:"freeze_status,int"`
	NumExtensions        uint8   `dbn:"num_extensions,int"`
	UnpairedSide         byte    `dbn:"unpaired_side,char"`
	SignificantImbalance byte    `dbn:"significant_imbalance,char"`
	_                    [1]byte `dbn:"_reserved,skip"`
}

// StatMsg is a statistic (schema statistics, rtype 0x18), DBN v3 layout
// with a 64-bit quantity. 80 bytes.
type StatMsg struct {
	RecordHeader
	TsRecv       uint64   `dbn:"ts_recv,ts,undef,index,order=0"`
	TsRef        uint64   `dbn:"ts_ref,ts,undef"`
	Price        int64    `dbn:"price,price,undef"`
	Quantity     int64    `dbn:"quantity,int,undef"`
	Sequence     uint32   `dbn:"sequence,int"`
	TsInDelta    int32    `dbn:"ts_in_delta,int"`
	StatType     uint16   `dbn:"stat_type,int"`
	ChannelID    uint16   `dbn:"channel_id,int,undef"`
	UpdateAction uint8    `dbn:"update_action,int"`
	StatFlags    uint8    `dbn:"stat_flags,flags"`
	_            [18]byte `dbn:"_reserved,skip"`
}

// ErrorMsg is an error from the gateway (rtype 0x15), v2/v3 layout. 320 bytes.
type ErrorMsg struct {
	RecordHeader
	Err    [302]byte `dbn:"err,cstr"`
	Code   uint8     `dbn:"code,int"`
	IsLast uint8     `dbn:"is_last,int"`
}

// SymbolMappingMsg maps an input symbol to an instrument ID for an interval
// (rtype 0x16), v2/v3 layout. 176 bytes.
type SymbolMappingMsg struct {
	RecordHeader
	STypeIn        SType               `dbn:"stype_in,int"`
	STypeInSymbol  [SymbolCstrLen]byte `dbn:"stype_in_symbol,cstr"`
	STypeOut       SType               `dbn:"stype_out,int"`
	STypeOutSymbol [SymbolCstrLen]byte `dbn:"stype_out_symbol,cstr"`
	StartTs        uint64              `dbn:"start_ts,ts,undef"`
	EndTs          uint64              `dbn:"end_ts,ts,undef"`
}

// SystemMsg is a gateway system message such as a heartbeat (rtype 0x17),
// v2/v3 layout. 320 bytes.
type SystemMsg struct {
	RecordHeader
	Msg  [303]byte `dbn:"msg,cstr"`
	Code uint8     `dbn:"code,int"`
}

// ---- DBN v1 and v2 layouts, upgraded to the v3 ones on decode. ----

// ErrorMsgV1 is the DBN v1 error record. 80 bytes.
type ErrorMsgV1 struct {
	RecordHeader
	Err [64]byte `dbn:"err,cstr"`
}

// SystemMsgV1 is the DBN v1 system record. 80 bytes.
type SystemMsgV1 struct {
	RecordHeader
	Msg [64]byte `dbn:"msg,cstr"`
}

// SymbolMappingMsgV1 is the DBN v1 symbol mapping record. 80 bytes.
type SymbolMappingMsgV1 struct {
	RecordHeader
	STypeInSymbol  [SymbolCstrLenV1]byte `dbn:"stype_in_symbol,cstr"`
	STypeOutSymbol [SymbolCstrLenV1]byte `dbn:"stype_out_symbol,cstr"`
	_              [4]byte               `dbn:"_dummy,skip"`
	StartTs        uint64                `dbn:"start_ts,ts,undef"`
	EndTs          uint64                `dbn:"end_ts,ts,undef"`
}

// StatMsgV1 is the DBN v1 and v2 statistics record, with a 32-bit quantity. 64 bytes.
type StatMsgV1 struct {
	RecordHeader
	TsRecv       uint64  `dbn:"ts_recv,ts,undef,index,order=0"`
	TsRef        uint64  `dbn:"ts_ref,ts,undef"`
	Price        int64   `dbn:"price,price,undef"`
	Quantity     int32   `dbn:"quantity,int,undef"`
	Sequence     uint32  `dbn:"sequence,int"`
	TsInDelta    int32   `dbn:"ts_in_delta,int"`
	StatType     uint16  `dbn:"stat_type,int"`
	ChannelID    uint16  `dbn:"channel_id,int,undef"`
	UpdateAction uint8   `dbn:"update_action,int"`
	StatFlags    uint8   `dbn:"stat_flags,flags"`
	_            [6]byte `dbn:"_reserved,skip"`
}

// InstrumentDefMsgV1 is the DBN v1 definition record. 360 bytes.
type InstrumentDefMsgV1 struct {
	RecordHeader
	TsRecv                  uint64                `dbn:"ts_recv,ts,undef,index,order=0"`
	MinPriceIncrement       int64                 `dbn:"min_price_increment,price,undef"`
	DisplayFactor           int64                 `dbn:"display_factor,price,undef"`
	Expiration              uint64                `dbn:"expiration,ts,undef"`
	Activation              uint64                `dbn:"activation,ts,undef"`
	HighLimitPrice          int64                 `dbn:"high_limit_price,price,undef"`
	LowLimitPrice           int64                 `dbn:"low_limit_price,price,undef"`
	MaxPriceVariation       int64                 `dbn:"max_price_variation,price,undef"`
	TradingReferencePrice   int64                 `dbn:"trading_reference_price,price,undef"`
	UnitOfMeasureQty        int64                 `dbn:"unit_of_measure_qty,price,undef"`
	MinPriceIncrementAmount int64                 `dbn:"min_price_increment_amount,price,undef"`
	PriceRatio              int64                 `dbn:"price_ratio,price,undef"`
	InstAttribValue         int32                 `dbn:"inst_attrib_value,flags"`
	UnderlyingID            uint32                `dbn:"underlying_id,int"`
	RawInstrumentID         uint32                `dbn:"raw_instrument_id,int"`
	MarketDepthImplied      int32                 `dbn:"market_depth_implied,int,undef"`
	MarketDepth             int32                 `dbn:"market_depth,int,undef"`
	MarketSegmentID         uint32                `dbn:"market_segment_id,int,undef"`
	MaxTradeVol             uint32                `dbn:"max_trade_vol,int,undef"`
	MinLotSize              int32                 `dbn:"min_lot_size,int,undef"`
	MinLotSizeBlock         int32                 `dbn:"min_lot_size_block,int,undef"`
	MinLotSizeRoundLot      int32                 `dbn:"min_lot_size_round_lot,int,undef"`
	MinTradeVol             uint32                `dbn:"min_trade_vol,int,undef"`
	_                       [4]byte               `dbn:"_reserved2,skip"`
	ContractMultiplier      int32                 `dbn:"contract_multiplier,int,undef"`
	DecayQuantity           int32                 `dbn:"decay_quantity,int,undef"`
	OriginalContractSize    int32                 `dbn:"original_contract_size,int,undef"`
	_                       [4]byte               `dbn:"_reserved3,skip"`
	TradingReferenceDate    uint16                `dbn:"trading_reference_date,int,undef"`
	ApplID                  int16                 `dbn:"appl_id,int,undef"`
	MaturityYear            uint16                `dbn:"maturity_year,int,undef"`
	DecayStartDate          uint16                `dbn:"decay_start_date,int,undef"`
	ChannelID               uint16                `dbn:"channel_id,int,undef"`
	Currency                [4]byte               `dbn:"currency,cstr"`
	SettlCurrency           [4]byte               `dbn:"settl_currency,cstr"`
	Secsubtype              [6]byte               `dbn:"secsubtype,cstr"`
	RawSymbol               [SymbolCstrLenV1]byte `dbn:"raw_symbol,cstr,order=2"`
	Group                   [21]byte              `dbn:"group,cstr"`
	Exchange                [5]byte               `dbn:"exchange,cstr"`
	Asset                   [AssetCstrLenV1]byte  `dbn:"asset,cstr"`
	Cfi                     [7]byte               `dbn:"cfi,cstr"`
	SecurityType            [7]byte               `dbn:"security_type,cstr"`
	UnitOfMeasure           [31]byte              `dbn:"unit_of_measure,cstr"`
	Underlying              [21]byte              `dbn:"underlying,cstr"`
	StrikePriceCurrency     [4]byte               `dbn:"strike_price_currency,cstr"`
	InstrumentClass         byte                  `dbn:"instrument_class,char,order=4"`
	_                       [2]byte               `dbn:"_reserved4,skip"`
	StrikePrice             int64                 `dbn:"strike_price,price,undef"`
	_                       [6]byte               `dbn:"_reserved5,skip"`
	MatchAlgorithm          byte                  `dbn:"match_algorithm,char"`
	MdSecurityTradingStatus uint8                 `dbn:"md_security_trading_status,int,undef"`
	MainFraction            uint8                 `dbn:"main_fraction,int,undef"`
	PriceDisplayFormat      uint8                 `dbn:"price_display_format,int,undef"`
	SettlPriceType          uint8                 `dbn:"settl_price_type,int,undef"`
	SubFraction             uint8                 `dbn:"sub_fraction,int,undef"`
	UnderlyingProduct       uint8                 `dbn:"underlying_product,int,undef"`
	SecurityUpdateAction    byte                  `dbn:"security_update_action,char,order=3"`
	MaturityMonth           uint8                 `dbn:"maturity_month,int,undef"`
	MaturityDay             uint8                 `dbn:"maturity_day,int,undef"`
	MaturityWeek            uint8                 `dbn:"maturity_week,int,undef"`
	UserDefinedInstrument   byte                  `dbn:"user_defined_instrument,char"`
	ContractMultiplierUnit  int8                  `dbn:"contract_multiplier_unit,int,undef"`
	FlowScheduleType        int8                  `dbn:"flow_schedule_type,int,undef"`
	TickRule                uint8                 `dbn:"tick_rule,int,undef"`
	_                       [3]byte               `dbn:"_dummy,skip"`
}

// InstrumentDefMsgV2 is the DBN v2 definition record. 400 bytes.
type InstrumentDefMsgV2 struct {
	RecordHeader
	TsRecv                  uint64               `dbn:"ts_recv,ts,undef,index,order=0"`
	MinPriceIncrement       int64                `dbn:"min_price_increment,price,undef"`
	DisplayFactor           int64                `dbn:"display_factor,price,undef"`
	Expiration              uint64               `dbn:"expiration,ts,undef"`
	Activation              uint64               `dbn:"activation,ts,undef"`
	HighLimitPrice          int64                `dbn:"high_limit_price,price,undef"`
	LowLimitPrice           int64                `dbn:"low_limit_price,price,undef"`
	MaxPriceVariation       int64                `dbn:"max_price_variation,price,undef"`
	TradingReferencePrice   int64                `dbn:"trading_reference_price,price,undef"`
	UnitOfMeasureQty        int64                `dbn:"unit_of_measure_qty,price,undef"`
	MinPriceIncrementAmount int64                `dbn:"min_price_increment_amount,price,undef"`
	PriceRatio              int64                `dbn:"price_ratio,price,undef"`
	StrikePrice             int64                `dbn:"strike_price,price,undef,order=46"`
	InstAttribValue         int32                `dbn:"inst_attrib_value,flags"`
	UnderlyingID            uint32               `dbn:"underlying_id,int"`
	RawInstrumentID         uint32               `dbn:"raw_instrument_id,int"`
	MarketDepthImplied      int32                `dbn:"market_depth_implied,int,undef"`
	MarketDepth             int32                `dbn:"market_depth,int,undef"`
	MarketSegmentID         uint32               `dbn:"market_segment_id,int,undef"`
	MaxTradeVol             uint32               `dbn:"max_trade_vol,int,undef"`
	MinLotSize              int32                `dbn:"min_lot_size,int,undef"`
	MinLotSizeBlock         int32                `dbn:"min_lot_size_block,int,undef"`
	MinLotSizeRoundLot      int32                `dbn:"min_lot_size_round_lot,int,undef"`
	MinTradeVol             uint32               `dbn:"min_trade_vol,int,undef"`
	ContractMultiplier      int32                `dbn:"contract_multiplier,int,undef"`
	DecayQuantity           int32                `dbn:"decay_quantity,int,undef"`
	OriginalContractSize    int32                `dbn:"original_contract_size,int,undef"`
	TradingReferenceDate    uint16               `dbn:"trading_reference_date,int,undef"`
	ApplID                  int16                `dbn:"appl_id,int,undef"`
	MaturityYear            uint16               `dbn:"maturity_year,int,undef"`
	DecayStartDate          uint16               `dbn:"decay_start_date,int,undef"`
	ChannelID               uint16               `dbn:"channel_id,int,undef"`
	Currency                [4]byte              `dbn:"currency,cstr"`
	SettlCurrency           [4]byte              `dbn:"settl_currency,cstr"`
	Secsubtype              [6]byte              `dbn:"secsubtype,cstr"`
	RawSymbol               [SymbolCstrLen]byte  `dbn:"raw_symbol,cstr,order=2"`
	Group                   [21]byte             `dbn:"group,cstr"`
	Exchange                [5]byte              `dbn:"exchange,cstr"`
	Asset                   [AssetCstrLenV1]byte `dbn:"asset,cstr"`
	Cfi                     [7]byte              `dbn:"cfi,cstr"`
	SecurityType            [7]byte              `dbn:"security_type,cstr"`
	UnitOfMeasure           [31]byte             `dbn:"unit_of_measure,cstr"`
	Underlying              [21]byte             `dbn:"underlying,cstr"`
	StrikePriceCurrency     [4]byte              `dbn:"strike_price_currency,cstr"`
	InstrumentClass         byte                 `dbn:"instrument_class,char,order=4"`
	MatchAlgorithm          byte                 `dbn:"match_algorithm,char"`
	MdSecurityTradingStatus uint8                `dbn:"md_security_trading_status,int,undef"`
	MainFraction            uint8                `dbn:"main_fraction,int,undef"`
	PriceDisplayFormat      uint8                `dbn:"price_display_format,int,undef"`
	SettlPriceType          uint8                `dbn:"settl_price_type,int,undef"`
	SubFraction             uint8                `dbn:"sub_fraction,int,undef"`
	UnderlyingProduct       uint8                `dbn:"underlying_product,int,undef"`
	SecurityUpdateAction    byte                 `dbn:"security_update_action,char,order=3"`
	MaturityMonth           uint8                `dbn:"maturity_month,int,undef"`
	MaturityDay             uint8                `dbn:"maturity_day,int,undef"`
	MaturityWeek            uint8                `dbn:"maturity_week,int,undef"`
	UserDefinedInstrument   byte                 `dbn:"user_defined_instrument,char"`
	ContractMultiplierUnit  int8                 `dbn:"contract_multiplier_unit,int,undef"`
	FlowScheduleType        int8                 `dbn:"flow_schedule_type,int,undef"`
	TickRule                uint8                `dbn:"tick_rule,int,undef"`
	_                       [10]byte             `dbn:"_reserved,skip"`
}
