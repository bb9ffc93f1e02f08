import type { Strike } from './abuse.js';

/** The protocol caps the response message (JSON Schema maxLength counts code points; this counts less or equal). */
export const MAX_RESPONSE_MESSAGE = 1024;

/** One response line: {"success":…,"message":…} and a LF. */
export function response(success: boolean, message: string): string {
  return `${JSON.stringify({ success, message: clip(message, MAX_RESPONSE_MESSAGE) })}\n`;
}

export const LOGGED = response(true, 'message logged');
export const INTERNAL_ERROR = response(false, 'internal server error: the message was not logged; send it again later');

/** Cuts text to at most max UTF-16 units, marking the cut, without splitting a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

export function blacklistedFor(address: string, remainingMs: number | undefined): string {
  if (remainingMs === undefined) return response(false, `IP ${address} is blacklisted`);
  // Whole milliseconds first: monotonic clock readings are fractional, and 1000.0000001 ms is not "2 seconds".
  return response(false, `IP ${address} is blacklisted for ${seconds(Math.max(1, Math.ceil(Math.floor(remainingMs) / 1000)), 'more ')}`);
}

export function rateLimited(address: string, limit: number, strike: Strike, durationSeconds: number | undefined): string {
  return response(false, `IP ${address} has exceeded its message rate limit of ${limit} messages per minute${strikeNote(address, strike, durationSeconds)}`);
}

/** A malformed message; the reason is cut first, so the strike or blacklist note always fits. */
export function refused(address: string, reason: string, strike: Strike, durationSeconds: number | undefined): string {
  const note = strikeNote(address, strike, durationSeconds);
  return response(false, `${clip(reason, MAX_RESPONSE_MESSAGE - note.length)}${note}`);
}

/** durationSeconds undefined: blacklists are permanent. */
function strikeNote(address: string, strike: Strike, durationSeconds: number | undefined): string {
  if (strike.blacklisted) {
    return durationSeconds === undefined
      ? `; IP ${address} has been blacklisted until the server restarts`
      : `; IP ${address} has been blacklisted for ${seconds(durationSeconds)}`;
  }
  return strike.threshold > 0 ? ` (strike ${strike.strikes} of ${strike.threshold})` : '';
}

function seconds(n: number, more = ''): string {
  return `${n} ${more}second${n === 1 ? '' : 's'}`;
}
