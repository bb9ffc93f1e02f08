import type { Metrics } from '../../management/metrics.js';
import { show } from '../flows/map.js';
import { InputRefusal } from '../flows/refusal.js';
import type { RecordRoute } from '../flows/route.js';
import { isZeekLog, zeekLogs } from './logs.js';

const prefix = '/api/v1/zeek';

/**
 * The route for a path under /api/v1/zeek: /api/v1/zeek/<log> for one log's lines, or
 * /api/v1/zeek for lines that name their log in `_path` (Zeek's json-streaming-logs).
 * Undefined for other paths; an unknown log is refused with 404.
 */
export function zeekRouteFor(path: string, metrics: Metrics): RecordRoute | undefined {
  if (path === prefix || path === `${prefix}/`) return { input: 'zeek', what: { kind: 'zeek', log: undefined } };
  if (!path.startsWith(`${prefix}/`)) return undefined;
  const log = path.slice(prefix.length + 1);
  if (isZeekLog(log)) return { input: 'zeek', what: { kind: 'zeek', log } };
  metrics.inputRejected.inc({ input: 'zeek', reason: 'unknown_log' });
  throw new InputRefusal('not_found', 'unknown_log', `no Zeek log ${show(log.length > 40 ? `${log.slice(0, 40)}…` : log)}: Loom maps ${zeekLogs.join(', ')} (POST to ${prefix}/<log>)`);
}
