/**
 * IPTC-IIM reader for fm=json: the application record (2:xx) of the IPTC block sharp returns — either the
 * Photoshop image resources of a JPEG's APP13 segment (resource 0x0404 holds the IIM) or bare IIM data.
 * Bounded like the EXIF reader: offsets are checked, and resources and datasets are capped.
 */

export type IptcDictionary = Record<string, string | string[]>;

const MAX_RESOURCES = 256;
const MAX_DATASETS = 512;
const IPTC_RESOURCE = 0x0404;
const APPLICATION_RECORD = 2;

/** Dataset numbers of record 2 and their names. */
const DATASETS: Record<number, string> = {
  3: 'ObjectTypeReference', 4: 'ObjectAttributeReference', 5: 'ObjectName', 7: 'EditStatus', 8: 'EditorialUpdate',
  10: 'Urgency', 12: 'SubjectReference', 15: 'Category', 20: 'SupplementalCategory', 22: 'FixtureIdentifier',
  25: 'Keywords', 26: 'ContentLocationCode', 27: 'ContentLocationName', 30: 'ReleaseDate', 35: 'ReleaseTime',
  37: 'ExpirationDate', 38: 'ExpirationTime', 40: 'SpecialInstructions', 42: 'ActionAdvised', 45: 'ReferenceService',
  47: 'ReferenceDate', 50: 'ReferenceNumber', 55: 'DateCreated', 60: 'TimeCreated', 62: 'DigitalCreationDate',
  63: 'DigitalCreationTime', 65: 'OriginatingProgram', 70: 'ProgramVersion', 75: 'ObjectCycle', 80: 'Byline',
  85: 'BylineTitle', 90: 'City', 92: 'SubLocation', 95: 'ProvinceState', 100: 'CountryPrimaryLocationCode',
  101: 'CountryPrimaryLocationName', 103: 'OriginalTransmissionReference', 105: 'Headline', 110: 'Credit',
  115: 'Source', 116: 'CopyrightNotice', 118: 'Contact', 120: 'Caption/Abstract', 122: 'Writer/Editor',
  130: 'ImageType', 131: 'ImageOrientation', 135: 'LanguageIdentifier',
};

/** Datasets that may repeat are always lists, so that one keyword and two keywords have the same shape. */
const REPEATABLE = new Set(['SubjectReference', 'SupplementalCategory', 'Keywords', 'ContentLocationCode',
  'ContentLocationName', 'ReferenceService', 'ReferenceDate', 'ReferenceNumber', 'Byline', 'BylineTitle', 'Contact',
  'Writer/Editor']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseIptc(block: Buffer): IptcDictionary {
  const iim = block[0] === 0x1c ? block : photoshopResource(block, IPTC_RESOURCE);
  return iim ? datasets(iim) : {};
}

/** The data of one Photoshop image resource ("8BIM", id, padded Pascal name, size, padded data). */
function photoshopResource(block: Buffer, wanted: number): Buffer | undefined {
  let at = block.subarray(0, 14).toString('latin1') === 'Photoshop 3.0\0' ? 14 : 0;
  for (let n = 0; n < MAX_RESOURCES && at + 12 <= block.length; n++) {
    if (block.toString('latin1', at, at + 4) !== '8BIM') return undefined;
    const id = block.readUInt16BE(at + 4);
    const nameLength = block[at + 6]!;
    const sizeAt = at + 6 + nameLength + 1 + ((nameLength + 1) % 2);
    if (sizeAt + 4 > block.length) return undefined;
    const size = block.readUInt32BE(sizeAt);
    const dataAt = sizeAt + 4;
    if (dataAt + size > block.length) return undefined;
    if (id === wanted) return block.subarray(dataAt, dataAt + size);
    at = dataAt + size + (size % 2);
  }
  return undefined;
}

function datasets(iim: Buffer): IptcDictionary {
  const out: IptcDictionary = {};
  let at = 0;
  for (let n = 0; n < MAX_DATASETS && at + 5 <= iim.length && iim[at] === 0x1c; n++) {
    const record = iim[at + 1]!;
    const dataset = iim[at + 2]!;
    const length = iim.readUInt16BE(at + 3);
    if (length & 0x8000) break; // extended datasets only carry binary objects (previews), never text fields
    const start = at + 5;
    if (start + length > iim.length) break;
    const name = record === APPLICATION_RECORD ? DATASETS[dataset] : undefined;
    if (name !== undefined) add(out, name, decode(iim.subarray(start, start + length)));
    at = start + length;
  }
  return out;
}

function add(out: IptcDictionary, name: string, value: string): void {
  if (!REPEATABLE.has(name)) {
    out[name] = value;
    return;
  }
  const list = out[name];
  if (Array.isArray(list)) list.push(value);
  else out[name] = [value];
}

/** IIM text is UTF-8 in current files and Latin-1 in old ones; whichever decodes. */
function decode(bytes: Buffer): string {
  try {
    return utf8.decode(bytes).trim();
  } catch {
    return bytes.toString('latin1').trim();
  }
}
