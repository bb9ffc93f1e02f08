/** Operator diagnostics as JSON lines on stderr, kept apart from the event stream. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Log = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export function createLog(minimum: Level): Log {
  return (level, msg, fields) => {
    if (order[level] < order[minimum]) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}
