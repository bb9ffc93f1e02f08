/**
 * RFC 5952 text of an IPv6 address given as its eight 16-bit groups: lowercase, no leading
 * zeros, the first of the longest runs of two or more zero groups written as "::". An
 * IPv4-mapped address comes out as hex groups (::ffff:102:304); callers that want the dotted
 * form recommended for it check for the prefix themselves.
 */
export function ipv6GroupsText(groups: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += (groups[i] as number).toString(16);
  }
  return text;
}
