import { setTimeout as sleep } from 'node:timers/promises';
import { isPlainObject } from '@loom/ecs';
import { describeHttpError, excerpt, type HttpTarget } from '../http-target.js';
import { describeAnswer, parseHecAnswer } from './status.js';

export interface AckWait {
  channel: string;
  pollIntervalMs: number;
  timeoutMs: number;
  /** Longest a single query may take (the connection's deadline), for error messages. */
  requestTimeoutMs: number;
}

export interface AckResult {
  /** The ackIds that HEC reported as indexed. */
  confirmed: Set<number>;
  /** Why some ackIds are not confirmed. */
  reason?: string;
}

/**
 * Polls `/services/collector/ack` until every ackId is true, the wait times out, or HEC
 * says acknowledgement cannot work (disabled for the token, token refused). HEC reports
 * an ackId as true once and forgets it afterwards, so only this caller may query its ids.
 * A false ackId can mean "still being indexed" or "lost"; HEC does not say which, hence
 * the timeout after which the caller sends the events again. Never throws.
 */
export async function waitForAcks(
  target: HttpTarget,
  headers: Record<string, string>,
  ackIds: readonly number[],
  wait: AckWait,
  signal: AbortSignal,
): Promise<AckResult> {
  const pending = new Set(ackIds);
  const confirmed = new Set<number>();
  const deadline = Date.now() + wait.timeoutMs;
  const path = `/services/collector/ack?channel=${encodeURIComponent(wait.channel)}`;
  let lastProblem: string | undefined;
  while (pending.size > 0) {
    try {
      await sleep(Math.min(wait.pollIntervalMs, Math.max(0, deadline - Date.now())), undefined, { signal });
      const response = await target.request('POST', path, {
        headers,
        body: JSON.stringify({ acks: [...pending] }),
        signal,
        maxBodyBytes: 1024 * 1024,
      });
      const statuses = response.status === 200 ? ackStatuses(response.body) : undefined;
      if (statuses !== undefined) {
        for (const id of pending) {
          if (statuses[String(id)] === true) {
            pending.delete(id);
            confirmed.add(id);
          }
        }
        lastProblem = undefined;
      } else {
        const answer = parseHecAnswer(response.body);
        const described = describeAnswer(response.status, answer, excerpt(response.body));
        if (answer?.code === 14) return { confirmed, reason: `indexer acknowledgement is disabled for this token: ${described}` };
        if (response.status === 401 || response.status === 403) return { confirmed, reason: `the collector refused the token: ${described}` };
        lastProblem = response.status === 200 ? `malformed ack answer: ${described}` : `ack query failed: ${described}`;
      }
    } catch (error) {
      if (signal.aborted) return { confirmed, reason: 'aborted while waiting for indexer acknowledgement' };
      lastProblem = `ack query failed: ${describeHttpError(error, wait.requestTimeoutMs)}`;
    }
    if (pending.size > 0 && Date.now() >= deadline) {
      const ids = [...pending].join(', ');
      return {
        confirmed,
        reason: `no indexer acknowledgement within ${wait.timeoutMs} ms for ackId ${ids}${lastProblem === undefined ? '' : ` (${lastProblem})`}`,
      };
    }
  }
  return { confirmed };
}

/** `{"acks":{"0":true,"1":false}}` → the inner object; undefined for anything else. */
function ackStatuses(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (isPlainObject(value) && isPlainObject(value.acks)) return value.acks;
  } catch {
    // not JSON: reported as a malformed answer by the caller
  }
  return undefined;
}
