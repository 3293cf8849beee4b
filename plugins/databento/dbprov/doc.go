// Package dbprov is hdi-provider-databento: Databento market data from the
// historical HTTP API, from local DBN files, or live from the Live API, as
// Arrow record batches.
//
// # Sources
//
// The job chooses the source with the param (or config key) source: "api"
// or "files"; it defaults to files when the job names files (Job.Files:
// paths, directories or globs of .dbn and .dbn.zst files of DBN v1, v2 or
// v3) and to api otherwise.
//
// The API source calls https://hist.databento.com/v0/ (config base_url or
// $DATABENTO_BASE_URL) with HTTP Basic auth, the key (config api_key, a
// secret, or $DATABENTO_API_KEY) as user name. timeseries.get_range is
// asked for zstd DBN and decoded as it arrives, in bounded memory.
//
// # Configuration keys
//
// api_key, base_url, source, timeout (100s: a metadata call's response
// time, and the longest silence inside a data stream), connect_timeout
// (10s; for live feeds also the authentication's), max_retries (5),
// retry_backoff (500ms, doubling with jitter up to 30s; a Retry-After
// header wins), download_dir, poll_interval, live_gateway.
//
// # Job
//
// dataset (VENUE.FEED, e.g. GLBX.MDP3), stream = the Databento schema
// (or param schema), symbols (none = ALL_SYMBOLS), stype_in (raw_symbol),
// stype_out (instrument_id), start and end (half-open), limit (per unit).
// Params: source, schema, chunk (1d, 1w, 1mo, 1y, 6h, none; default per
// schema: 1d for tick schemas, 1w for 1s bars/bbo/cbbo, 1mo for 1m
// bars/bbo/cbbo, 1y for 1h, 1d and eod bars and definitions; the job's
// chunking.period also works), stype_in, stype_out, resolve (call
// symbology.resolve when the data carries no symbol mappings; default true),
// parts (files: units per file, loaded in parallel; default 2 for a file of
// 8 MiB or more, else 1).
//
// # Units
//
// API units are cut by time (the chunk, on calendar boundaries) and by
// symbol group (sorted symbols, at most 2,000 per request, the documented
// limit, or chunking.symbols_per_unit). Keys look like
//
//	databento:GLBX.MDP3:trades:raw_symbol:s1f2e3d4c5b6a7980:2024-01-01T00:00:00Z/2024-01-02T00:00:00Z
//
// (the symbol tag is ALL_SYMBOLS or "s" + 16 hex digits of the SHA-256 of
// the sorted symbols joined by commas; ":limit=N" is appended when a limit
// is set). File units are one per file, keyed by content:
// databento:file:DATASET:SCHEMA:HASH, HASH from the file size and its first
// MiB, so a moved or renamed file is not loaded twice. A job range that
// does not cover the file narrows the unit to the range and appends
// ":range=START/END", a limit appends ":limit=N"; a big file is split into
// parts (param parts; see partOf), keyed ...:part=K/P.
//
// Plan first counts the units (symbol groups times chunks) and refuses a
// plan of more than the job's max_units with an sdk.TooManyUnits, before
// it builds a unit or calls the API. It fills each API unit's estimates
// from metadata.get_record_count, get_billable_size and get_cost, asked
// about at most 8 spans of consecutive units per symbol group (four calls
// at a time): unit by unit for a group of up to 8 units, else span by
// span, each span's figures shared out to its units by duration. So a
// plan costs at most 24 metadata calls per symbol group however long.
//
// # Streams and Arrow types
//
// One stream per schema, named as the schema (trades, mbp-10, ohlcv-1d,
// ...); "definition" is of kind definition and also receives definition
// records met in other streams. Each carries every field of the record
// type under Databento's name in the reference column order, then ts_out
// (null unless the data has it). Prices and timestamps are int64 (1e-9
// fixed point; ns since the epoch), other integers keep their width and
// signedness, single characters are uint8 (the ASCII code, 0 = null),
// c-strings are strings. Undefined sentinels are null. Every field has the
// Arrow metadata hdi.kind = price | ts | char | int | flags | cstr.
//
// # Live feeds
//
// A live job (Job.Live; every schema but ohlcv-eod) plans one unit keyed
// databento:live:DATASET:STREAMS:STYPE_IN:SYMBOLS (streams sorted, joined
// by "+"; symbols as in API keys), without estimates. Fetch opens one TCP
// session with the gateway (config live_gateway or $DATABENTO_LIVE_GATEWAY,
// else DATASET.lsg.databento.com:13000), answers its CRAM challenge
// (sha256 of "CHALLENGE|KEY", then "-" and the key's last 5 characters),
// subscribes each stream (start= from FetchRequest.Resume or the job's
// start, see subscriptionStarts) and decodes the DBN stream (zstd with
// param compression). Records become batches as for history; a
// LiveCheckpoint follows each batch and each heartbeat; rows are flushed at
// least every flush_interval. SymbolMappingMsgs become symbol mappings (see
// liveFeed.mapping for the dates). A cut, an EOF, undecodable data or no
// record and no heartbeat for twice heartbeat_interval_s end Fetch with a
// retryable error: the host fetches again with the committed positions.
// Params: heartbeat_interval_s, compression, ts_out, slow_reader_behavior,
// snapshot, replay_margin, flush_interval (jobs/README.md).
//
// # Errors
//
// Errors after which the unit may succeed later carry gRPC code Aborted
// (RetryableCode) and start with "retryable: " (rate limits and 5xx that
// outlasted max_retries, connection failures, a stream cut after batches
// were sent). A stream cut before any batch was sent is retried inside
// Fetch. 400, 401, 403 and 422 are not retried: the error quotes
// Databento's detail and names what to fix. The API key never appears in
// errors or logs.
package dbprov
