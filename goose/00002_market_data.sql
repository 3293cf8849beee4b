-- Market-data tables: one per Databento record type (DBN v3), every field a
-- column under Databento's name. Conventions (docs/schema.md has the detail):
--   * dataset: the Databento dataset (GLBX.MDP3, ...); instrument ids are
--     unique only within a dataset and a day, so it is in every key.
--   * ts: timestamptz (microseconds) of the record's index timestamp, filled
--     by the loader: ts_recv for records that have it, ts_event for bars. It
--     partitions (TimescaleDB) and indexes. The exact nanosecond values stay
--     in the BIGINT columns ts_recv, ts_event, ts_ref, ...
--   * prices are BIGINT in 1e-9 units; Databento's "undefined" sentinels
--     (i64::MAX price, u32::MAX size, i64::MAX quantity, u64::MAX timestamp,
--     u8/u16/i8/i32::MAX codes) are stored as NULL, so only columns that have
--     a sentinel are nullable. Plain counts, flags, sequence, side and action
--     are NOT NULL: a loader cannot silently drop them.
--   * unsigned integers use the next wider signed type (u8 -> smallint,
--     u16 -> integer, u32 -> bigint); u64 values go to bigint and a value
--     above 2^63-1 is quarantined by the loader, never wrapped.
--   * one-character codes (side, action, ...) are text; a NUL byte is NULL.
--   * the natural key of each table is a UNIQUE NULLS NOT DISTINCT
--     constraint named <table>_key that starts with (instrument_id, ts) and
--     so also serves instrument + time-range queries; a BRIN index on ts
--     serves time-range scans over all instruments. dataset is the key's
--     last column: every B-tree descent compares the leading columns, and a
--     leading text column (a collation-aware comparison) made loading 1.4-2x
--     slower (docs/BENCHMARKS.md).

-- +goose Up

-- Code tables for the numeric and one-character enums, so queries can join
-- names. Values from databento/dbn rust/dbn/src/enums.rs.
CREATE TABLE stat_types (
    stat_type   integer PRIMARY KEY,
    name        text    NOT NULL UNIQUE,
    description text    NOT NULL
);
INSERT INTO stat_types (stat_type, name, description) VALUES
    (1, 'opening_price', 'Price of the first trade of the session; quantity when the venue provides it'),
    (2, 'indicative_opening_price', 'Probable opening price published during pre-open; price and quantity'),
    (3, 'settlement_price', 'Settlement price; stat_flags tell final/preliminary, actual/theoretical; ts_ref is the trading date'),
    (4, 'trading_session_low_price', 'Lowest trade price of the session'),
    (5, 'trading_session_high_price', 'Highest trade price of the session'),
    (6, 'cleared_volume', 'Contracts cleared on the previous trading date (quantity); ts_ref is that date'),
    (7, 'lowest_offer', 'Lowest offer price of the session'),
    (8, 'highest_bid', 'Highest bid price of the session'),
    (9, 'open_interest', 'Outstanding contracts (quantity); ts_ref is the trading date it was calculated for'),
    (10, 'fixing_price', 'Volume-weighted average price of a fixing period'),
    (11, 'close_price', 'Last trade price of the session; quantity when the venue provides it'),
    (12, 'net_change', 'Change from the previous session''s close to the latest session'),
    (13, 'vwap', 'Volume-weighted average price of the session (price) and traded volume (quantity)'),
    (14, 'volatility', 'Implied volatility of the settlement price (price, 1e-9 units)'),
    (15, 'delta', 'Option delta of the settlement price (price, 1e-9 units)'),
    (16, 'uncrossing_price', 'Auction uncrossing price for auctions other than the opening and closing ones'),
    (17, 'upper_price_limit', 'Exchange-defined upper price limit'),
    (18, 'lower_price_limit', 'Exchange-defined lower price limit'),
    (19, 'block_volume', 'Block contracts cleared on the previous trading date (quantity); ts_ref is that date'),
    (10001, 'venue_specific_volume_1', 'A venue-specific volume statistic (quantity)');

CREATE TABLE stat_update_actions (
    update_action smallint PRIMARY KEY,
    name          text     NOT NULL UNIQUE
);
INSERT INTO stat_update_actions VALUES (1, 'new'), (2, 'delete');

CREATE TABLE status_actions (
    action      integer PRIMARY KEY,
    name        text    NOT NULL UNIQUE,
    description text    NOT NULL
);
INSERT INTO status_actions VALUES
    (0, 'none', 'No change'),
    (1, 'pre_open', 'Pre-open period'),
    (2, 'pre_cross', 'Pre-cross period'),
    (3, 'quoting', 'Quoting but not trading'),
    (4, 'cross', 'In a cross or auction'),
    (5, 'rotation', 'Being opened through a trading rotation'),
    (6, 'new_price_indication', 'A new price indication is available'),
    (7, 'trading', 'Trading'),
    (8, 'halt', 'Trading halted'),
    (9, 'pause', 'Trading paused'),
    (10, 'suspend', 'Trading suspended'),
    (11, 'pre_close', 'Pre-close period'),
    (12, 'close', 'Trading closed'),
    (13, 'post_close', 'Post-close period'),
    (14, 'ssr_change', 'A change in short-selling restrictions'),
    (15, 'not_available_for_trading', 'Not available for trading: closed or halted');

CREATE TABLE status_reasons (
    reason      integer PRIMARY KEY,
    name        text    NOT NULL UNIQUE,
    description text    NOT NULL
);
INSERT INTO status_reasons VALUES
    (0, 'none', 'No reason given'),
    (1, 'scheduled', 'As scheduled'),
    (2, 'surveillance_intervention', 'Market surveillance intervention'),
    (3, 'market_event', 'Activity in the market'),
    (4, 'instrument_activation', 'The derivative began trading'),
    (5, 'instrument_expiration', 'The derivative expired'),
    (6, 'recovery_in_process', 'Recovery in progress'),
    (10, 'regulatory', 'Regulatory action'),
    (11, 'administrative', 'Administrative action'),
    (12, 'non_compliance', 'Issuer not compliant with regulatory requirements'),
    (13, 'filings_not_current', 'Issuer filings not current'),
    (14, 'sec_trading_suspension', 'SEC trading suspension'),
    (15, 'new_issue', 'A new issue is available'),
    (16, 'issue_available', 'An issue is available'),
    (17, 'issues_reviewed', 'The issue(s) were reviewed'),
    (18, 'filing_reqs_satisfied', 'Filing requirements satisfied'),
    (30, 'news_pending', 'Relevant news pending'),
    (31, 'news_released', 'Relevant news released'),
    (32, 'news_and_resumption_times', 'News disseminated; resumption times available'),
    (33, 'news_not_forthcoming', 'Relevant news not forthcoming'),
    (40, 'order_imbalance', 'Halted for order imbalance'),
    (50, 'luld_pause', 'Limit up-limit down pause'),
    (60, 'operational', 'Operational issue at the venue'),
    (70, 'additional_information_requested', 'Until the venue receives additional information'),
    (80, 'merger_effective', 'Merger becoming effective'),
    (90, 'etf', 'ETF halted for conditions of its components'),
    (100, 'corporate_action', 'Corporate action'),
    (110, 'new_security_offering', 'New security offering'),
    (120, 'market_wide_halt_level1', 'Market-wide circuit breaker level 1'),
    (121, 'market_wide_halt_level2', 'Market-wide circuit breaker level 2'),
    (122, 'market_wide_halt_level3', 'Market-wide circuit breaker level 3'),
    (123, 'market_wide_halt_carryover', 'Market-wide circuit breaker carried over from the previous day'),
    (124, 'market_wide_halt_resumption', 'Resumption after a market-wide circuit breaker'),
    (130, 'quotation_not_available', 'Quotation not available');

CREATE TABLE trading_events (
    trading_event integer PRIMARY KEY,
    name          text    NOT NULL UNIQUE,
    description   text    NOT NULL
);
INSERT INTO trading_events VALUES
    (0, 'none', 'No additional information'),
    (1, 'no_cancel', 'Order entry allowed; modification and cancellation not allowed'),
    (2, 'change_trading_session', 'Trading session changed; daily statistics reset'),
    (3, 'implied_matching_on', 'Implied matching available'),
    (4, 'implied_matching_off', 'Implied matching not available');

-- One-character codes of every text enum column, by column name.
CREATE TABLE char_codes (
    field       text NOT NULL,
    code        text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL,
    PRIMARY KEY (field, code)
);
INSERT INTO char_codes VALUES
    ('side', 'A', 'ask', 'Sell order, or sell aggressor of a trade'),
    ('side', 'B', 'bid', 'Buy order, or buy aggressor of a trade'),
    ('side', 'N', 'none', 'No side given by the source'),
    ('action', 'A', 'add', 'Order added to the book'),
    ('action', 'C', 'cancel', 'Order fully or partially cancelled'),
    ('action', 'M', 'modify', 'Order modified (price and/or size)'),
    ('action', 'R', 'clear', 'Book cleared for the instrument'),
    ('action', 'T', 'trade', 'Aggressing order traded (no book effect)'),
    ('action', 'F', 'fill', 'Resting order filled (no book effect)'),
    ('action', 'N', 'none', 'No book effect; may carry flags'),
    ('instrument_class', 'B', 'bond', 'Bond'),
    ('instrument_class', 'C', 'call', 'Call option'),
    ('instrument_class', 'F', 'future', 'Future'),
    ('instrument_class', 'K', 'stock', 'Stock'),
    ('instrument_class', 'M', 'mixed_spread', 'Spread of several instrument classes'),
    ('instrument_class', 'P', 'put', 'Put option'),
    ('instrument_class', 'S', 'future_spread', 'Spread of futures'),
    ('instrument_class', 'T', 'option_spread', 'Spread of options'),
    ('instrument_class', 'X', 'fx_spot', 'Foreign exchange spot'),
    ('instrument_class', 'Y', 'commodity_spot', 'Commodity for immediate delivery'),
    ('match_algorithm', ' ', 'undefined', 'No matching algorithm given'),
    ('match_algorithm', 'F', 'fifo', 'First in, first out'),
    ('match_algorithm', 'K', 'configurable', 'Configurable'),
    ('match_algorithm', 'C', 'pro_rata', 'Pro rata'),
    ('match_algorithm', 'T', 'fifo_lmm', 'FIFO with LMM allocations first'),
    ('match_algorithm', 'O', 'threshold_pro_rata', 'Pro rata with an allocation to the first improving order'),
    ('match_algorithm', 'S', 'fifo_top_lmm', 'FIFO LMM with an allocation to the first improving order'),
    ('match_algorithm', 'Q', 'threshold_pro_rata_lmm', 'Threshold pro rata with LMM priority'),
    ('match_algorithm', 'Y', 'eurodollar_futures', 'CME Eurodollar futures variant'),
    ('match_algorithm', 'P', 'time_pro_rata', 'Shared at the best price, weighted by time priority'),
    ('match_algorithm', 'V', 'institutional_prioritization', 'Two-pass FIFO by institutional group'),
    ('security_update_action', 'A', 'add', 'New instrument definition'),
    ('security_update_action', 'M', 'modify', 'Modified definition'),
    ('security_update_action', 'D', 'delete', 'Definition removed'),
    ('user_defined_instrument', 'N', 'no', 'Not user-defined'),
    ('user_defined_instrument', 'Y', 'yes', 'User-defined'),
    ('tri_state', '~', 'not_available', 'Not applicable or not known (is_trading, is_quoting, is_short_sell_restricted)'),
    ('tri_state', 'N', 'no', 'False'),
    ('tri_state', 'Y', 'yes', 'True');

-- Helpers for views and queries.

-- fixed_to_numeric turns a 1e-9 fixed-point value into an exact decimal with
-- scale 9: 372025000000000 -> 372025.000000000. NULL stays NULL. It
-- multiplies: numeric division rounds to ~16-20 significant digits, which
-- is not exact for 19-digit values.
CREATE FUNCTION fixed_to_numeric(v bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (v::numeric * 0.000000001)::numeric(38, 9);

-- ns_to_timestamptz turns nanoseconds since the UNIX epoch into a
-- timestamptz, truncated to the microsecond. The loader fills ts this way.
CREATE FUNCTION ns_to_timestamptz(ns bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '1970-01-01 00:00:00+00'::timestamptz + (ns / 1000) * interval '1 microsecond';

-- ns_to_text renders nanoseconds since the UNIX epoch as exact ISO 8601 UTC:
-- 1704205800123456789 -> 2024-01-02T14:30:00.123456789Z.
CREATE FUNCTION ns_to_text(ns bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_char(ns_to_timestamptz(ns) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || '.' || lpad((ns % 1000000000)::text, 9, '0') || 'Z';

-- Market by order (schema mbo, rtype 0xA0): every order book event.
CREATE TABLE mbo (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      text     NOT NULL,
    side                        text     NOT NULL,
    price                       bigint,
    size                        bigint,
    channel_id                  smallint NOT NULL,
    order_id                    bigint   NOT NULL,
    flags                       smallint NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    sequence                    bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT mbo_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, channel_id, sequence, order_id, action, side, price, size, ts_event, flags, dataset)
);
CREATE INDEX mbo_ts_brin ON mbo USING brin (ts);

COMMENT ON TABLE mbo IS 'Market by order (schema mbo, rtype 0xA0): every order book event.';

-- Market by price, top of book (schema mbp-1, rtype 0x01): every book event with the best bid and offer after it.
CREATE TABLE mbp_1 (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      text     NOT NULL,
    side                        text     NOT NULL,
    depth                       smallint NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    sequence                    bigint   NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_ct_00                   bigint   NOT NULL,
    ask_ct_00                   bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT mbp_1_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, sequence, action, side, depth, price, size, ts_event, flags, dataset)
);
CREATE INDEX mbp_1_ts_brin ON mbp_1 USING brin (ts);

COMMENT ON TABLE mbp_1 IS 'Market by price, top of book (schema mbp-1, rtype 0x01): every book event with the best bid and offer after it.';

-- Market by price, 10 levels (schema mbp-10, rtype 0x0A): every book event with the 10 best levels after it.
CREATE TABLE mbp_10 (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      text     NOT NULL,
    side                        text     NOT NULL,
    depth                       smallint NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    sequence                    bigint   NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_ct_00                   bigint   NOT NULL,
    ask_ct_00                   bigint   NOT NULL,
    bid_px_01                   bigint,
    ask_px_01                   bigint,
    bid_sz_01                   bigint   NOT NULL,
    ask_sz_01                   bigint   NOT NULL,
    bid_ct_01                   bigint   NOT NULL,
    ask_ct_01                   bigint   NOT NULL,
    bid_px_02                   bigint,
    ask_px_02                   bigint,
    bid_sz_02                   bigint   NOT NULL,
    ask_sz_02                   bigint   NOT NULL,
    bid_ct_02                   bigint   NOT NULL,
    ask_ct_02                   bigint   NOT NULL,
    bid_px_03                   bigint,
    ask_px_03                   bigint,
    bid_sz_03                   bigint   NOT NULL,
    ask_sz_03                   bigint   NOT NULL,
    bid_ct_03                   bigint   NOT NULL,
    ask_ct_03                   bigint   NOT NULL,
    bid_px_04                   bigint,
    ask_px_04                   bigint,
    bid_sz_04                   bigint   NOT NULL,
    ask_sz_04                   bigint   NOT NULL,
    bid_ct_04                   bigint   NOT NULL,
    ask_ct_04                   bigint   NOT NULL,
    bid_px_05                   bigint,
    ask_px_05                   bigint,
    bid_sz_05                   bigint   NOT NULL,
    ask_sz_05                   bigint   NOT NULL,
    bid_ct_05                   bigint   NOT NULL,
    ask_ct_05                   bigint   NOT NULL,
    bid_px_06                   bigint,
    ask_px_06                   bigint,
    bid_sz_06                   bigint   NOT NULL,
    ask_sz_06                   bigint   NOT NULL,
    bid_ct_06                   bigint   NOT NULL,
    ask_ct_06                   bigint   NOT NULL,
    bid_px_07                   bigint,
    ask_px_07                   bigint,
    bid_sz_07                   bigint   NOT NULL,
    ask_sz_07                   bigint   NOT NULL,
    bid_ct_07                   bigint   NOT NULL,
    ask_ct_07                   bigint   NOT NULL,
    bid_px_08                   bigint,
    ask_px_08                   bigint,
    bid_sz_08                   bigint   NOT NULL,
    ask_sz_08                   bigint   NOT NULL,
    bid_ct_08                   bigint   NOT NULL,
    ask_ct_08                   bigint   NOT NULL,
    bid_px_09                   bigint,
    ask_px_09                   bigint,
    bid_sz_09                   bigint   NOT NULL,
    ask_sz_09                   bigint   NOT NULL,
    bid_ct_09                   bigint   NOT NULL,
    ask_ct_09                   bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT mbp_10_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, sequence, action, side, depth, price, size, ts_event, flags, dataset)
);
CREATE INDEX mbp_10_ts_brin ON mbp_10 USING brin (ts);

COMMENT ON TABLE mbp_10 IS 'Market by price, 10 levels (schema mbp-10, rtype 0x0A): every book event with the 10 best levels after it.';

-- Trades with the best bid and offer just before each trade (schema tbbo, rtype 0x01).
CREATE TABLE tbbo (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      text     NOT NULL,
    side                        text     NOT NULL,
    depth                       smallint NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    sequence                    bigint   NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_ct_00                   bigint   NOT NULL,
    ask_ct_00                   bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT tbbo_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, sequence, action, side, depth, price, size, ts_event, flags, dataset)
);
CREATE INDEX tbbo_ts_brin ON tbbo USING brin (ts);

COMMENT ON TABLE tbbo IS 'Trades with the best bid and offer just before each trade (schema tbbo, rtype 0x01).';

-- Every trade (schema trades, mbp-0, rtype 0x00).
CREATE TABLE trades (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      text     NOT NULL,
    side                        text     NOT NULL,
    depth                       smallint NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    sequence                    bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT trades_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, sequence, action, side, depth, price, size, ts_event, flags, dataset)
);
CREATE INDEX trades_ts_brin ON trades USING brin (ts);

COMMENT ON TABLE trades IS 'Every trade (schema trades, mbp-0, rtype 0x00).';

-- Best bid and offer sampled every second, with the last trade (schema bbo-1s, rtype 0xC3).
CREATE TABLE bbo_1s (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    side                        text     NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    sequence                    bigint   NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_ct_00                   bigint   NOT NULL,
    ask_ct_00                   bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT bbo_1s_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, dataset)
);
CREATE INDEX bbo_1s_ts_brin ON bbo_1s USING brin (ts);

COMMENT ON TABLE bbo_1s IS 'Best bid and offer sampled every second, with the last trade (schema bbo-1s, rtype 0xC3).';

-- Best bid and offer sampled every minute, with the last trade (schema bbo-1m, rtype 0xC4).
CREATE TABLE bbo_1m (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    side                        text     NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    sequence                    bigint   NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_ct_00                   bigint   NOT NULL,
    ask_ct_00                   bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT bbo_1m_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, dataset)
);
CREATE INDEX bbo_1m_ts_brin ON bbo_1m USING brin (ts);

COMMENT ON TABLE bbo_1m IS 'Best bid and offer sampled every minute, with the last trade (schema bbo-1m, rtype 0xC4).';

-- Consolidated top of book across venues (schema cmbp-1, rtype 0xB1).
CREATE TABLE cmbp_1 (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      text     NOT NULL,
    side                        text     NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_pb_00                   integer  NOT NULL,
    ask_pb_00                   integer  NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT cmbp_1_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, ts_event, action, side, price, size, flags, dataset)
);
CREATE INDEX cmbp_1_ts_brin ON cmbp_1 USING brin (ts);

COMMENT ON TABLE cmbp_1 IS 'Consolidated top of book across venues (schema cmbp-1, rtype 0xB1).';

-- Trades with the consolidated best bid and offer just before each trade (schema tcbbo, rtype 0xC2).
CREATE TABLE tcbbo (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      text     NOT NULL,
    side                        text     NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_pb_00                   integer  NOT NULL,
    ask_pb_00                   integer  NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT tcbbo_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, ts_event, action, side, price, size, flags, dataset)
);
CREATE INDEX tcbbo_ts_brin ON tcbbo USING brin (ts);

COMMENT ON TABLE tcbbo IS 'Trades with the consolidated best bid and offer just before each trade (schema tcbbo, rtype 0xC2).';

-- Consolidated best bid and offer sampled every second, with the last trade (schema cbbo-1s, rtype 0xC0).
CREATE TABLE cbbo_1s (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    side                        text     NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_pb_00                   integer  NOT NULL,
    ask_pb_00                   integer  NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT cbbo_1s_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, dataset)
);
CREATE INDEX cbbo_1s_ts_brin ON cbbo_1s USING brin (ts);

COMMENT ON TABLE cbbo_1s IS 'Consolidated best bid and offer sampled every second, with the last trade (schema cbbo-1s, rtype 0xC0).';

-- Consolidated best bid and offer sampled every minute, with the last trade (schema cbbo-1m, rtype 0xC1).
CREATE TABLE cbbo_1m (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    side                        text     NOT NULL,
    price                       bigint,
    size                        bigint,
    flags                       smallint NOT NULL,
    bid_px_00                   bigint,
    ask_px_00                   bigint,
    bid_sz_00                   bigint   NOT NULL,
    ask_sz_00                   bigint   NOT NULL,
    bid_pb_00                   integer  NOT NULL,
    ask_pb_00                   integer  NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT cbbo_1m_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, dataset)
);
CREATE INDEX cbbo_1m_ts_brin ON cbbo_1m USING brin (ts);

COMMENT ON TABLE cbbo_1m IS 'Consolidated best bid and offer sampled every minute, with the last trade (schema cbbo-1m, rtype 0xC1).';

-- One-second bars (schema ohlcv-1s, rtype 0x20).
CREATE TABLE ohlcv_1s (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_event                    bigint   NOT NULL,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    open                        bigint,
    high                        bigint,
    low                         bigint,
    close                       bigint,
    volume                      bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT ohlcv_1s_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_event, publisher_id, dataset)
);
CREATE INDEX ohlcv_1s_ts_brin ON ohlcv_1s USING brin (ts);

COMMENT ON TABLE ohlcv_1s IS 'One-second bars (schema ohlcv-1s, rtype 0x20).';

-- One-minute bars (schema ohlcv-1m, rtype 0x21).
CREATE TABLE ohlcv_1m (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_event                    bigint   NOT NULL,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    open                        bigint,
    high                        bigint,
    low                         bigint,
    close                       bigint,
    volume                      bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT ohlcv_1m_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_event, publisher_id, dataset)
);
CREATE INDEX ohlcv_1m_ts_brin ON ohlcv_1m USING brin (ts);

COMMENT ON TABLE ohlcv_1m IS 'One-minute bars (schema ohlcv-1m, rtype 0x21).';

-- One-hour bars (schema ohlcv-1h, rtype 0x22).
CREATE TABLE ohlcv_1h (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_event                    bigint   NOT NULL,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    open                        bigint,
    high                        bigint,
    low                         bigint,
    close                       bigint,
    volume                      bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT ohlcv_1h_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_event, publisher_id, dataset)
);
CREATE INDEX ohlcv_1h_ts_brin ON ohlcv_1h USING brin (ts);

COMMENT ON TABLE ohlcv_1h IS 'One-hour bars (schema ohlcv-1h, rtype 0x22).';

-- Daily bars on the UTC date (schema ohlcv-1d, rtype 0x23).
CREATE TABLE ohlcv_1d (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_event                    bigint   NOT NULL,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    open                        bigint,
    high                        bigint,
    low                         bigint,
    close                       bigint,
    volume                      bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT ohlcv_1d_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_event, publisher_id, dataset)
);
CREATE INDEX ohlcv_1d_ts_brin ON ohlcv_1d USING brin (ts);

COMMENT ON TABLE ohlcv_1d IS 'Daily bars on the UTC date (schema ohlcv-1d, rtype 0x23).';

-- Daily bars on the trading session (schema ohlcv-eod, rtype 0x24).
CREATE TABLE ohlcv_eod (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_event                    bigint   NOT NULL,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    open                        bigint,
    high                        bigint,
    low                         bigint,
    close                       bigint,
    volume                      bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT ohlcv_eod_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_event, publisher_id, dataset)
);
CREATE INDEX ohlcv_eod_ts_brin ON ohlcv_eod USING brin (ts);

COMMENT ON TABLE ohlcv_eod IS 'Daily bars on the trading session (schema ohlcv-eod, rtype 0x24).';

-- Venue statistics: settlement, open interest, session high/low, ... (schema statistics, rtype 0x18). See stat_types.
CREATE TABLE statistics (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    ts_ref                      bigint,
    price                       bigint,
    quantity                    bigint,
    sequence                    bigint   NOT NULL,
    ts_in_delta                 integer  NOT NULL,
    stat_type                   integer  NOT NULL,
    channel_id                  integer,
    update_action               smallint NOT NULL,
    stat_flags                  smallint NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT statistics_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, channel_id, sequence, stat_type, update_action, ts_event, ts_ref, price, quantity, stat_flags, dataset)
);
CREATE INDEX statistics_ts_brin ON statistics USING brin (ts);

COMMENT ON TABLE statistics IS 'Venue statistics: settlement, open interest, session high/low, ... (schema statistics, rtype 0x18). See stat_types.';

-- Trading status changes (schema status, rtype 0x12). See status_actions, status_reasons, trading_events.
CREATE TABLE status (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    action                      integer  NOT NULL,
    reason                      integer  NOT NULL,
    trading_event               integer  NOT NULL,
    is_trading                  text,
    is_quoting                  text,
    is_short_sell_restricted    text,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT status_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, ts_event, action, reason, trading_event, is_trading, is_quoting, is_short_sell_restricted, dataset)
);
CREATE INDEX status_ts_brin ON status USING brin (ts);

COMMENT ON TABLE status IS 'Trading status changes (schema status, rtype 0x12). See status_actions, status_reasons, trading_events.';

-- Auction imbalances (schema imbalance, rtype 0x14).
CREATE TABLE imbalance (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    ref_price                   bigint,
    auction_time                bigint,
    cont_book_clr_price         bigint,
    auct_interest_clr_price     bigint,
    ssr_filling_price           bigint,
    ind_match_price             bigint,
    upper_collar                bigint,
    lower_collar                bigint,
    paired_qty                  bigint,
    total_imbalance_qty         bigint,
    market_imbalance_qty        bigint,
    unpaired_qty                bigint,
    auction_type                text,
    side                        text,
    auction_status              smallint NOT NULL,
    freeze_status               smallint NOT NULL,
    num_extensions              smallint NOT NULL,
    unpaired_side               text,
    significant_imbalance       text,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT imbalance_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, ts_event, auction_type, auction_time, side, ref_price, paired_qty, total_imbalance_qty, dataset)
);
CREATE INDEX imbalance_ts_brin ON imbalance USING brin (ts);

COMMENT ON TABLE imbalance IS 'Auction imbalances (schema imbalance, rtype 0x14).';

-- Instrument definitions (schema definition, rtype 0x13), every version kept; see the instruments view.
CREATE TABLE definition (
    dataset                     text     NOT NULL,
    ts                          timestamptz NOT NULL,
    ts_recv                     bigint   NOT NULL,
    ts_event                    bigint,
    rtype                       smallint NOT NULL,
    publisher_id                integer  NOT NULL,
    instrument_id               bigint   NOT NULL,
    raw_symbol                  text     NOT NULL,
    security_update_action      text,
    instrument_class            text,
    min_price_increment         bigint,
    display_factor              bigint,
    expiration                  bigint,
    activation                  bigint,
    high_limit_price            bigint,
    low_limit_price             bigint,
    max_price_variation         bigint,
    unit_of_measure_qty         bigint,
    min_price_increment_amount  bigint,
    price_ratio                 bigint,
    inst_attrib_value           integer  NOT NULL,
    underlying_id               bigint   NOT NULL,
    raw_instrument_id           bigint   NOT NULL,
    market_depth_implied        integer,
    market_depth                integer,
    market_segment_id           bigint,
    max_trade_vol               bigint,
    min_lot_size                integer,
    min_lot_size_block          integer,
    min_lot_size_round_lot      integer,
    min_trade_vol               bigint,
    contract_multiplier         integer,
    decay_quantity              integer,
    original_contract_size      integer,
    appl_id                     smallint,
    maturity_year               integer,
    decay_start_date            integer,
    channel_id                  integer,
    currency                    text,
    settl_currency              text,
    secsubtype                  text,
    "group"                     text,
    exchange                    text,
    asset                       text,
    cfi                         text,
    security_type               text,
    unit_of_measure             text,
    underlying                  text,
    strike_price_currency       text,
    strike_price                bigint,
    match_algorithm             text,
    main_fraction               smallint,
    price_display_format        smallint,
    sub_fraction                smallint,
    underlying_product          smallint,
    maturity_month              smallint,
    maturity_day                smallint,
    maturity_week               smallint,
    user_defined_instrument     text,
    contract_multiplier_unit    smallint,
    flow_schedule_type          smallint,
    tick_rule                   smallint,
    leg_count                   integer  NOT NULL,
    leg_index                   integer  NOT NULL,
    leg_instrument_id           bigint   NOT NULL,
    leg_raw_symbol              text,
    leg_instrument_class        text,
    leg_side                    text,
    leg_price                   bigint,
    leg_delta                   bigint,
    leg_ratio_price_numerator   integer  NOT NULL,
    leg_ratio_price_denominator integer  NOT NULL,
    leg_ratio_qty_numerator     integer  NOT NULL,
    leg_ratio_qty_denominator   integer  NOT NULL,
    leg_underlying_id           bigint   NOT NULL,
    -- ts_out: when the gateway sent it (DBN ts_out suffix), else NULL.
    ts_out                      bigint,
    CONSTRAINT definition_key UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, ts_event, security_update_action, leg_index, dataset)
);
CREATE INDEX definition_ts_brin ON definition USING brin (ts);

COMMENT ON TABLE definition IS 'Instrument definitions (schema definition, rtype 0x13), every version kept; see the instruments view.';

-- +goose Down
-- One table per statement: TimescaleDB cannot drop a hypertable along with
-- other objects.
DROP TABLE definition;
DROP TABLE imbalance;
DROP TABLE status;
DROP TABLE statistics;
DROP TABLE ohlcv_eod;
DROP TABLE ohlcv_1d;
DROP TABLE ohlcv_1h;
DROP TABLE ohlcv_1m;
DROP TABLE ohlcv_1s;
DROP TABLE cbbo_1m;
DROP TABLE cbbo_1s;
DROP TABLE tcbbo;
DROP TABLE cmbp_1;
DROP TABLE bbo_1m;
DROP TABLE bbo_1s;
DROP TABLE trades;
DROP TABLE tbbo;
DROP TABLE mbp_10;
DROP TABLE mbp_1;
DROP TABLE mbo;
DROP FUNCTION ns_to_text(bigint), ns_to_timestamptz(bigint), fixed_to_numeric(bigint);
DROP TABLE char_codes, trading_events, status_reasons, status_actions,
    stat_update_actions, stat_types;
