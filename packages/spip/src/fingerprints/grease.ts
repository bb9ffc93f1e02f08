// GREASE values (RFC 8701) are random placeholders clients sprinkle into
// cipher, extension, group, version and signature lists so servers stay
// tolerant of unknown values. They change per connection, so every
// fingerprint drops them. All sixteen have the form 0x?a?a with both bytes equal.
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

export function withoutGrease(values: readonly number[]): number[] {
  return values.filter((v) => !isGrease(v));
}
