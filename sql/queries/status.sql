-- Trading status and auction imbalance (schemas status and imbalance).

-- Status: status changes for a dataset and instrument ids in [start_ts,
-- end_ts) of ts, with the action and reason names.
-- name: Status :many
SELECT s.*, sa.name AS action_name, sr.name AS reason_name
FROM status s
LEFT JOIN status_actions sa ON sa.action = s.action
LEFT JOIN status_reasons sr ON sr.reason = s.reason
WHERE s.dataset = @dataset
  AND s.instrument_id = ANY(@instrument_ids::bigint[])
  AND s.ts >= @start_ts AND s.ts < @end_ts
ORDER BY s.ts, s.instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Imbalance: auction imbalances for a dataset and instrument ids in
-- [start_ts, end_ts) of ts.
-- name: Imbalance :many
SELECT * FROM imbalance
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;
