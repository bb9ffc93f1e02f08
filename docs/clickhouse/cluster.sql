-- Loom's tables on a ClickHouse cluster: on every server a ReplicatedMergeTree table that holds
-- that server's share of the rows (`*_local`), and a Distributed table over all of them that Loom
-- inserts into and queries read from. docs/SCALING.md explains each choice.
--
-- Before running it, every server needs in its configuration (docs/SCALING.md has an example):
--   <remote_servers>  the cluster, here named loom_cluster, with internal_replication = true
--   <macros>          {shard} and {replica}, different on each server
--   <zookeeper>       the ZooKeeper (or ClickHouse Keeper) ensemble
--   <distributed_ddl> for ON CLUSTER
-- and Loom's ClickHouse user should have insert_distributed_sync = 1 in its profile.
--
-- The file is in sections, each starting with a line "-- @section <name>". Run the sections
-- for your server version, one statement at a time, against any one server of the cluster:
-- ON CLUSTER creates the table on all of them.
--
--   every version:           database, then the *-distributed section after its local table
--   ClickHouse 20.10+:       events-string-local or typed-local (typed-local needs 22.2+:
--                            it has the columns of schema.sql)
--   ClickHouse 18.16+:       events-string-local-explicit or typed-local-explicit
--
-- The test suite (packages/loom/test/clickhouse-cluster.test.ts) runs the 18.16 sections
-- against two ClickHouse 18.16 servers and a ZooKeeper. The sections without an explicit
-- ZooKeeper path are not run there: 18.16 requires the path.

-- @section database
CREATE DATABASE IF NOT EXISTS loom ON CLUSTER loom_cluster;

-- @section events-string-local
-- Go-compatible one-column table (clickhouse_mode = "event_string"), ClickHouse 20.10 or newer.
-- Without arguments, ReplicatedMergeTree takes its ZooKeeper path and replica name from the
-- server settings default_replica_path ('/clickhouse/tables/{uuid}/{shard}') and
-- default_replica_name ('{replica}'); {uuid} needs an Atomic database (the default engine of
-- these servers) and ON CLUSTER. In an Ordinary database use the -explicit section.
CREATE TABLE IF NOT EXISTS loom.loom_events_local ON CLUSTER loom_cluster
(
    event String,
    _ts   DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplicatedMergeTree
ORDER BY _ts;

-- @section events-string-local-explicit
-- The same for ClickHouse 18.16 and newer: the ZooKeeper path of the table and the replica
-- name are given. The path must be the same on every replica of a shard and different for
-- every shard and every table, hence {shard} and the table name in it.
CREATE TABLE IF NOT EXISTS loom.loom_events_local ON CLUSTER loom_cluster
(
    event String,
    _ts   DateTime DEFAULT now()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/loom/loom_events_local', '{replica}')
ORDER BY _ts;

-- @section events-string-distributed
-- What Loom writes to: clickhouse_database = "loom", clickhouse_table = "loom_events".
-- The sharding key is a hash of the row, not rand(): a retried batch then sends every row to
-- the same shard as the first attempt, which is what lets a shard drop the repeat.
CREATE TABLE IF NOT EXISTS loom.loom_events ON CLUSTER loom_cluster
AS loom.loom_events_local
ENGINE = Distributed(loom_cluster, loom, loom_events_local, cityHash64(event));

-- @section typed-local
-- Typed table (clickhouse_mode = "typed"), ClickHouse 22.2 or newer: the columns, partitions
-- and TTL of schema.sql. Replicated tables keep their deduplication log in ZooKeeper, shared
-- by the replicas of a shard, so they need no non_replicated_deduplication_window.
CREATE TABLE IF NOT EXISTS loom.events_local ON CLUSTER loom_cluster
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
ENGINE = ReplicatedMergeTree
PARTITION BY toDate(timestamp)
ORDER BY (sensor, timestamp)
TTL toDateTime(timestamp) + INTERVAL 90 DAY
SETTINGS ttl_only_drop_parts = 1;

-- @section typed-local-explicit
-- Typed table for ClickHouse 18.16 and newer: the columns of schema-18.16.sql, with an
-- explicit ZooKeeper path as in events-string-local-explicit.
CREATE TABLE IF NOT EXISTS loom.events_local ON CLUSTER loom_cluster
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/loom/events_local', '{replica}')
PARTITION BY toDate(timestamp)
ORDER BY (sensor, timestamp);

-- @section typed-distributed
-- What Loom writes to in typed mode: clickhouse_database = "loom", clickhouse_table = "events".
-- Queries (the examples in docs/outputs/clickhouse.md) read loom.events as before.
CREATE TABLE IF NOT EXISTS loom.events ON CLUSTER loom_cluster
AS loom.events_local
ENGINE = Distributed(loom_cluster, loom, events_local, cityHash64(event));
