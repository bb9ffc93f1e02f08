/**
 * The PTR record of an attacker's address is written by the attacker: it can be any bytes,
 * and it ends up in events, dashboards and logs. Only plain host names pass: letters, digits,
 * '-' and '_' in dot-separated labels of 1–63 characters, 253 characters in all. Anything
 * else (spaces, markup, control characters, which the resolver hands over as \DDD escapes)
 * is treated as no name at all.
 *
 * A name that passes is still only a claim: whoever controls the reverse zone can name
 * their address "mail.example.com". Trusting it would take a forward lookup that confirms it.
 */
export function usableName(answer: string | undefined): string | undefined {
  if (answer === undefined) return undefined;
  const name = answer.endsWith('.') ? answer.slice(0, -1) : answer;
  if (name.length === 0 || name.length > 253) return undefined;
  return HOST_NAME.test(name) ? name : undefined;
}

const HOST_NAME = /^[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*$/;
