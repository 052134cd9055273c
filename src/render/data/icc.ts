/**
 * The description of an embedded ICC profile ("sRGB IEC61966-2.1", "Display P3"): imgix's ProfileName.
 * Reads the tag table of the profile for its `desc` tag, in either the ICC v2 form (`desc`, ASCII) or the
 * v4 form (`mluc`, UTF-16BE, the first record). Bounded by the profile's own size.
 */

const HEADER_BYTES = 128;
const MAX_TAGS = 256;

export function iccDescription(profile: Buffer): string | undefined {
  if (profile.length < HEADER_BYTES + 4) return undefined;
  const count = Math.min(MAX_TAGS, profile.readUInt32BE(HEADER_BYTES));
  for (let i = 0; i < count; i++) {
    const entry = HEADER_BYTES + 4 + i * 12;
    if (entry + 12 > profile.length) return undefined;
    if (profile.toString('latin1', entry, entry + 4) !== 'desc') continue;
    const offset = profile.readUInt32BE(entry + 4);
    const size = profile.readUInt32BE(entry + 8);
    if (offset + size > profile.length || size < 12) return undefined;
    return describe(profile.subarray(offset, offset + size));
  }
  return undefined;
}

function describe(tag: Buffer): string | undefined {
  const type = tag.toString('latin1', 0, 4);
  if (type === 'desc') {
    const length = tag.readUInt32BE(8);
    if (12 + length > tag.length) return undefined;
    return clean(tag.toString('latin1', 12, 12 + length));
  }
  if (type === 'mluc' && tag.length >= 28) {
    const records = tag.readUInt32BE(8);
    if (records < 1) return undefined;
    const length = tag.readUInt32BE(20);
    const offset = tag.readUInt32BE(24);
    if (offset + length > tag.length) return undefined;
    const text = Buffer.from(tag.subarray(offset, offset + length - (length % 2))).swap16();
    return clean(text.toString('utf16le'));
  }
  return undefined;
}

function clean(text: string): string | undefined {
  const trimmed = text.replace(/\0[\s\S]*$/, '').trim();
  return trimmed === '' ? undefined : trimmed;
}
