// A real ClickHouse server (Debian's clickhouse-server) as the destination of an ingest
// scenario, started with the same helper the tests use.
import http from 'node:http';
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

/**
 * Rows of a MergeTree table, from its active parts: exact, and as quick for a billion rows as
 * for ten. A `SELECT count()` on ClickHouse 18.16 reads the whole smallest column, which for
 * the one-column table is every event's text: minutes after a long run.
 */
export async function rowsInParts(server, table) {
  const [row] = await server.rows(`SELECT sum(rows) AS n FROM system.parts WHERE database = currentDatabase() AND table = '${table}' AND active`);
  return Number(row?.n ?? 0);
}

/** `SELECT count()` allowed `seconds` to run (ClickHouse's max_execution_time, and as long to answer). */
export function countRows(server, table, seconds) {
  const url = `${server.url}/?${new URLSearchParams({ max_execution_time: String(seconds), query: `SELECT count() FROM ${table}` })}`;
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: (seconds + 30) * 1000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        text += chunk;
      });
      response.on('end', () => (response.statusCode === 200 ? resolve(Number(text.trim())) : reject(new Error(`ClickHouse ${response.statusCode}: ${text.slice(0, 300)}`))));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`SELECT count() got no answer within ${seconds + 30} s`)));
    request.on('error', reject);
  });
}

/** Calls `attempt` up to `times` times, `pauseMs` apart, and returns its first result. */
export async function withRetries(attempt, { times = 3, pauseMs = 2000, onError = () => {} } = {}) {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      onError(error, i);
      if (i >= times) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
