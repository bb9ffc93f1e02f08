-- Loom typed table for ClickHouse 22.2 or newer (older servers: schema-18.16.sql).
-- Use with output.clickhouse_mode = "typed", clickhouse_database = "loom",
-- clickhouse_table = "events".
--
-- Columns are filled by Loom from each ECS event (docs/outputs/clickhouse.md lists the fields);
-- a column the event has no value for gets its default ('' or 0). Columns may be dropped or
-- added: Loom inserts with input_format_skip_unknown_fields = 1 and names no columns.
--
-- Addresses are String, not IPv6: honeypot sources are mostly IPv4, whose text (7 to 15
-- bytes) is no larger than an IPv6 value (16 bytes) and reads without a ::ffff: prefix;
-- a String column never refuses a row; and isIPAddressInRange(source_ip, '203.0.113.0/24')
-- works on it. Loom writes only valid addresses there, IPv4-mapped ones as plain IPv4;
-- toIPv6(source_ip) gives the numeric form where a query needs it.

CREATE DATABASE IF NOT EXISTS loom;

CREATE TABLE IF NOT EXISTS loom.events
(
    timestamp        DateTime64(3, 'UTC'),
    sensor           LowCardinality(String),
    event_id         String,
    event_dataset    LowCardinality(String),
    event_kind       LowCardinality(String),
    event_action     LowCardinality(String),
    source_ip        String,
    source_port      UInt16,
    destination_ip   String,
    destination_port UInt16,
    transport        LowCardinality(String),
    protocol         LowCardinality(String),
    source_country   LowCardinality(String),
    source_asn       UInt32,
    source_as_org    LowCardinality(String),
    ja4              String,
    ja3              String,
    hassh            String,
    ja4h             String,
    risk_score       Float32,
    event            String CODEC(ZSTD(3))
)
ENGINE = MergeTree
-- One partition per day: time-range queries skip whole days, and the TTL drops whole parts.
PARTITION BY toDate(timestamp)
-- Per-sensor queries read one key range; per-time queries within a sensor are ordered too.
ORDER BY (sensor, timestamp)
-- Raw honeypot events age fast; keep 90 days (change the interval, or drop the TTL line).
TTL toDateTime(timestamp) + INTERVAL 90 DAY
-- non_replicated_deduplication_window: plain MergeTree only honours Loom's
-- insert_deduplication_token (a retried batch is stored once) with a window above 0.
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;
