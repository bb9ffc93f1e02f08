export { ClickHouseDestination, CLICKHOUSE_DEFAULTS, MAX_INSERTS_PER_DELIVERY, type ClickHouseOptions } from './destination.js';
export { DEDUP_TOKEN_SINCE, insertPath, supportsDedupToken, type DedupTokenMode } from './query.js';
export { TYPED_COLUMNS, parseEventTime, type ClickHouseMode } from './rows.js';
