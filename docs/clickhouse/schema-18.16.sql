-- Loom typed table for old ClickHouse servers (18.16 to 22.1), e.g. Debian 12's
-- clickhouse-server 18.16.1. Same columns and names as schema.sql, so the same queries work;
-- what 18.16 lacks: DateTime64 (timestamps keep whole seconds), LowCardinality (without an
-- experimental setting), column codecs and TTL (delete old partitions yourself:
-- ALTER TABLE loom.events DROP PARTITION '2025-01-31'), and insert_deduplication_token
-- (Loom's dedup_token = "auto" leaves it out on these servers).

CREATE DATABASE IF NOT EXISTS loom;

CREATE TABLE IF NOT EXISTS loom.events
(
    timestamp        DateTime,
    sensor           String,
    event_id         String,
    event_dataset    String,
    event_kind       String,
    event_action     String,
    source_ip        String,
    source_port      UInt16,
    destination_ip   String,
    destination_port UInt16,
    transport        String,
    protocol         String,
    source_country   String,
    source_asn       UInt32,
    source_as_org    String,
    ja4              String,
    ja3              String,
    hassh            String,
    ja4h             String,
    risk_score       Float32,
    event            String
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (sensor, timestamp);
