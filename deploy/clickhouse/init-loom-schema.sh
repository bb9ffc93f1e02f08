#!/bin/bash
# Applies Loom's typed schema (docs/clickhouse/schema.sql, mounted read-only) when the
# ClickHouse data volume is created. The image runs /docker-entrypoint-initdb.d/* only on
# an empty data directory, against a temporary server on 127.0.0.1, with the account from
# CLICKHOUSE_USER/CLICKHOUSE_PASSWORD. The schema uses IF NOT EXISTS throughout, so
# running it by hand again later is harmless:
#   docker compose exec clickhouse /docker-entrypoint-initdb.d/10-loom-schema.sh
set -euo pipefail
clickhouse client --host 127.0.0.1 \
  --user "${CLICKHOUSE_USER:-default}" --password "${CLICKHOUSE_PASSWORD:-}" \
  --multiquery < /opt/loom/schema.sql
echo "loom schema applied"
