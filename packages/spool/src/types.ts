export type LogLevel = 'info' | 'warn' | 'error';
/** Where the spool reports what an operator must know (damaged files, failing disks). */
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/**
 * Why records left a spool without being read: the oldest gave way to new ones (queue or
 * spool full), or a file was damaged after it was written.
 */
export type SpoolDropReason = 'queue_full' | 'spool_full' | 'corrupt';
