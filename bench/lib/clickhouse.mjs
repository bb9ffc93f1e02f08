// A real ClickHouse server (Debian's clickhouse-server) as the destination of an ingest
// scenario, started with the same helper the tests use.
import { join } from 'node:path';
import { root } from './loom.mjs';

const TABLE = 'loom_events';

/** compression as the runner asks: unset (the default), or BENCH_CLICKHOUSE_GZIP=1 / =0. */
function gzipSetting() {
  const value = process.env.BENCH_CLICKHOUSE_GZIP;
  return value === undefined || value === '' ? {} : { compression: value !== '0' };
}

async function startServer() {
  const helper = join(root, 'packages/loom/dist/test/helpers/clickhouse-server.js');
  const { startClickHouse } = await import(helper);
  return startClickHouse();
}

/**
 * Loom's ClickHouse output (Go-compatible one-column table) with its outbox on and the
 * default compression, which sends a loopback ClickHouse plain bodies (BENCH_CLICKHOUSE_GZIP=1
 * forces gzip, to see what it costs on one machine). check()
 * runs after the measured load: it waits until every acknowledged event is in ClickHouse and
 * reports how long that took, so "acknowledged" and "delivered" can be compared.
 */
export function clickhouseOutput() {
  return {
    async start(dir) {
      const server = await startServer();
      await server.query(`CREATE TABLE ${TABLE} (event String) ENGINE = MergeTree ORDER BY tuple()`);
      return {
        sections: {
          output: { type: 'clickhouse', clickhouse_url: server.url, clickhouse_table: TABLE, ...gzipSetting() },
          'output.outbox': { dir: join(dir, 'outbox') },
        },
        async check(acknowledged, managementUrl) {
          const ended = Date.now();
          const count = async () => Number((await server.rows(`SELECT count() AS n FROM ${TABLE}`))[0]?.n ?? 0);
          let rows = await count();
          const atEnd = rows;
          while (rows < acknowledged && Date.now() - ended < 60_000) {
            await new Promise((r) => setTimeout(r, 200));
            rows = await count();
          }
          const ready = await fetch(`${managementUrl}/ready`, { headers: { Accept: 'application/json' } }).then((r) => r.json()).catch(() => undefined);
          return {
            acknowledged_events: acknowledged,
            rows_when_load_ended: atEnd,
            rows_in_clickhouse: rows,
            all_delivered: rows >= acknowledged,
            seconds_to_deliver_the_rest: Math.round((Date.now() - ended) / 100) / 10,
            outbox: ready?.outputs?.[0]?.outbox,
          };
        },
        stop: () => server.stop(),
      };
    },
  };
}
