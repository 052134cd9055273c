/**
 * A small, bounded EXIF reader for fm=json: walks the TIFF structure of the EXIF block (IFD0, the Exif IFD
 * and the GPS IFD) and returns one dictionary per directory, keyed by the EXIF tag names imgix uses
 * (`Make`, `ExposureTime`, `ISOSpeedRatings`, `GPSLatitude`, …).
 *
 * The input is untrusted: every offset is checked against the buffer, each directory is read at most once,
 * and entry counts, value sizes and string lengths are capped, so a hostile block costs at most a few
 * thousand small reads. Unknown tags, maker notes and malformed entries are skipped rather than reported.
 */

export type ExifValue = number | string | number[];
export type ExifDictionary = Record<string, ExifValue>;

export interface ExifDirectories {
  TIFF?: ExifDictionary;
  Exif?: ExifDictionary;
  GPS?: ExifDictionary;
}

/** Entries read per directory; real files have a few dozen. */
const MAX_ENTRIES = 256;
/** Values larger than this (thumbnails, maker notes, ICC copies) are not metadata anyone asks for here. */
const MAX_VALUE_BYTES = 4096;

const EXIF_IFD_POINTER = 0x8769;
const GPS_IFD_POINTER = 0x8825;
const USER_COMMENT = 0x9286;

// IFD0 (imgix's "TIFF" dictionary).
const TIFF_TAGS: Record<number, string> = {
  0x0100: 'ImageWidth', 0x0101: 'ImageLength', 0x0102: 'BitsPerSample', 0x0103: 'Compression',
  0x0106: 'PhotometricInterpretation', 0x010d: 'DocumentName', 0x010e: 'ImageDescription', 0x010f: 'Make',
  0x0110: 'Model', 0x0112: 'Orientation', 0x0115: 'SamplesPerPixel', 0x011a: 'XResolution', 0x011b: 'YResolution',
  0x011c: 'PlanarConfiguration', 0x0128: 'ResolutionUnit', 0x0131: 'Software', 0x0132: 'DateTime', 0x013b: 'Artist',
  0x013c: 'HostComputer', 0x013e: 'WhitePoint', 0x013f: 'PrimaryChromaticities', 0x0211: 'YCbCrCoefficients',
  0x0212: 'YCbCrSubSampling', 0x0213: 'YCbCrPositioning', 0x0214: 'ReferenceBlackWhite', 0x4746: 'Rating',
  0x4749: 'RatingPercent', 0x8298: 'Copyright',
};

const EXIF_TAGS: Record<number, string> = {
  0x829a: 'ExposureTime', 0x829d: 'FNumber', 0x8822: 'ExposureProgram', 0x8824: 'SpectralSensitivity',
  0x8827: 'ISOSpeedRatings', 0x8830: 'SensitivityType', 0x8831: 'StandardOutputSensitivity',
  0x8832: 'RecommendedExposureIndex', 0x8833: 'ISOSpeed', 0x9000: 'ExifVersion', 0x9003: 'DateTimeOriginal',
  0x9004: 'DateTimeDigitized', 0x9010: 'OffsetTime', 0x9011: 'OffsetTimeOriginal', 0x9012: 'OffsetTimeDigitized',
  0x9101: 'ComponentsConfiguration', 0x9102: 'CompressedBitsPerPixel', 0x9201: 'ShutterSpeedValue',
  0x9202: 'ApertureValue', 0x9203: 'BrightnessValue', 0x9204: 'ExposureBiasValue', 0x9205: 'MaxApertureValue',
  0x9206: 'SubjectDistance', 0x9207: 'MeteringMode', 0x9208: 'LightSource', 0x9209: 'Flash', 0x920a: 'FocalLength',
  0x9214: 'SubjectArea', [USER_COMMENT]: 'UserComment', 0x9290: 'SubSecTime', 0x9291: 'SubSecTimeOriginal',
  0x9292: 'SubSecTimeDigitized', 0xa000: 'FlashpixVersion', 0xa001: 'ColorSpace', 0xa002: 'PixelXDimension',
  0xa003: 'PixelYDimension', 0xa004: 'RelatedSoundFile', 0xa20b: 'FlashEnergy', 0xa20e: 'FocalPlaneXResolution',
  0xa20f: 'FocalPlaneYResolution', 0xa210: 'FocalPlaneResolutionUnit', 0xa214: 'SubjectLocation',
  0xa215: 'ExposureIndex', 0xa217: 'SensingMethod', 0xa300: 'FileSource', 0xa301: 'SceneType', 0xa401: 'CustomRendered',
  0xa402: 'ExposureMode', 0xa403: 'WhiteBalance', 0xa404: 'DigitalZoomRatio', 0xa405: 'FocalLengthIn35mmFilm',
  0xa406: 'SceneCaptureType', 0xa407: 'GainControl', 0xa408: 'Contrast', 0xa409: 'Saturation', 0xa40a: 'Sharpness',
  0xa40c: 'SubjectDistanceRange', 0xa420: 'ImageUniqueID', 0xa430: 'CameraOwnerName', 0xa431: 'BodySerialNumber',
  0xa432: 'LensSpecification', 0xa433: 'LensMake', 0xa434: 'LensModel', 0xa435: 'LensSerialNumber', 0xa500: 'Gamma',
};

const GPS_TAGS: Record<number, string> = {
  0: 'GPSVersionID', 1: 'GPSLatitudeRef', 2: 'GPSLatitude', 3: 'GPSLongitudeRef', 4: 'GPSLongitude',
  5: 'GPSAltitudeRef', 6: 'GPSAltitude', 7: 'GPSTimeStamp', 8: 'GPSSatellites', 9: 'GPSStatus', 10: 'GPSMeasureMode',
  11: 'GPSDOP', 12: 'GPSSpeedRef', 13: 'GPSSpeed', 14: 'GPSTrackRef', 15: 'GPSTrack', 16: 'GPSImgDirectionRef',
  17: 'GPSImgDirection', 18: 'GPSMapDatum', 19: 'GPSDestLatitudeRef', 20: 'GPSDestLatitude',
  21: 'GPSDestLongitudeRef', 22: 'GPSDestLongitude', 23: 'GPSDestBearingRef', 24: 'GPSDestBearing',
  25: 'GPSDestDistanceRef', 26: 'GPSDestDistance', 27: 'GPSProcessingMethod', 28: 'GPSAreaInformation',
  29: 'GPSDateStamp', 30: 'GPSDifferential', 31: 'GPSHPositioningError',
};

/** Bytes per component of each TIFF field type (1 BYTE … 12 DOUBLE). */
const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
const ASCII = 2;
const UNDEFINED = 7;

/** `block` is sharp's `metadata().exif`: a TIFF structure, with or without the JPEG `Exif\0\0` prefix. */
export function parseExif(block: Buffer): ExifDirectories {
  const tiff = block.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? block.subarray(6) : block;
  if (tiff.length < 8) return {};
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return {};
  const reader = new TiffReader(tiff, order === 'II');
  if (reader.u16(2) !== 42) return {};

  const out: ExifDirectories = {};
  const ifd0 = reader.directory(reader.u32(4), TIFF_TAGS);
  if (Object.keys(ifd0.values).length > 0) out.TIFF = ifd0.values;
  const exifOffset = ifd0.pointers.get(EXIF_IFD_POINTER);
  if (exifOffset !== undefined) {
    const exif = reader.directory(exifOffset, EXIF_TAGS).values;
    if (Object.keys(exif).length > 0) out.Exif = exif;
  }
  const gpsOffset = ifd0.pointers.get(GPS_IFD_POINTER);
  if (gpsOffset !== undefined) {
    const gps = reader.directory(gpsOffset, GPS_TAGS).values;
    if (Object.keys(gps).length > 0) out.GPS = gps;
  }
  return out;
}

class TiffReader {
  private readonly visited = new Set<number>();

  constructor(
    private readonly data: Buffer,
    private readonly little: boolean,
  ) {}

  u16(offset: number): number {
    return this.little ? this.data.readUInt16LE(offset) : this.data.readUInt16BE(offset);
  }

  u32(offset: number): number {
    return this.little ? this.data.readUInt32LE(offset) : this.data.readUInt32BE(offset);
  }

  /** The named tags of the directory at `offset`, and the offsets of the sub-directories it points to. */
  directory(offset: number, names: Record<number, string>): { values: ExifDictionary; pointers: Map<number, number> } {
    const values: ExifDictionary = {};
    const pointers = new Map<number, number>();
    if (this.visited.has(offset) || offset < 8 || offset + 2 > this.data.length) return { values, pointers };
    this.visited.add(offset);
    const count = Math.min(MAX_ENTRIES, this.u16(offset));
    for (let i = 0; i < count; i++) {
      const entry = offset + 2 + i * 12;
      if (entry + 12 > this.data.length) break;
      const tag = this.u16(entry);
      if (tag === EXIF_IFD_POINTER || tag === GPS_IFD_POINTER) {
        pointers.set(tag, this.u32(entry + 8));
        continue;
      }
      const name = names[tag];
      if (name === undefined) continue;
      const value = this.value(entry, tag);
      if (value !== undefined) values[name] = value;
    }
    return { values, pointers };
  }

  private value(entry: number, tag: number): ExifValue | undefined {
    const type = this.u16(entry + 2);
    const size = TYPE_SIZES[type];
    const count = this.u32(entry + 4);
    if (size === undefined || count === 0) return undefined;
    const bytes = size * count;
    if (bytes > MAX_VALUE_BYTES) return undefined;
    const start = bytes <= 4 ? entry + 8 : this.u32(entry + 8);
    if (start + bytes > this.data.length) return undefined;
    const raw = this.data.subarray(start, start + bytes);
    if (type === ASCII) return text(raw);
    if (type === UNDEFINED) return tag === USER_COMMENT ? userComment(raw, this.little) : undefinedBytes(raw);
    const numbers: number[] = [];
    for (let i = 0; i < count; i++) numbers.push(this.number(type, start + i * size));
    return numbers.length === 1 ? numbers[0] : numbers;
  }

  private number(type: number, at: number): number {
    const d = this.data;
    switch (type) {
      case 1: return d[at]!;
      case 3: return this.u16(at);
      case 4: return this.u32(at);
      case 5: return ratio(this.u32(at), this.u32(at + 4));
      case 6: return d.readInt8(at);
      case 8: return this.little ? d.readInt16LE(at) : d.readInt16BE(at);
      case 9: return this.little ? d.readInt32LE(at) : d.readInt32BE(at);
      case 10: {
        const n = this.little ? d.readInt32LE(at) : d.readInt32BE(at);
        const m = this.little ? d.readInt32LE(at + 4) : d.readInt32BE(at + 4);
        return ratio(n, m);
      }
      case 11: return this.little ? d.readFloatLE(at) : d.readFloatBE(at);
      default: return this.little ? d.readDoubleLE(at) : d.readDoubleBE(at);
    }
  }
}

/** 0/0 is what cameras write for "unknown"; it is reported as 0 rather than as a non-number. */
function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** ASCII fields end at the first NUL; many writers put UTF-8 in them, which is decoded as such. */
function text(raw: Buffer): string {
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8').trim();
}

/**
 * UNDEFINED fields as imgix shows them: printable ones as text (ExifVersion "0230"), binary ones as their
 * byte values separated by spaces (ComponentsConfiguration "1 2 3 0", SceneType "1").
 */
function undefinedBytes(raw: Buffer): string {
  const printable = raw.every((byte) => byte >= 0x20 && byte < 0x7f);
  return printable ? raw.toString('latin1') : [...raw].join(' ');
}

/** An 8-byte character-code header ("ASCII\0\0\0", "UNICODE\0", …), then the comment (UCS-2 in the file's byte order). */
function userComment(raw: Buffer, little: boolean): string | undefined {
  if (raw.length < 8) return undefined;
  const code = raw.toString('latin1', 0, 8).replace(/\0+$/, '');
  const body = raw.subarray(8);
  let comment: string;
  if (code === 'UNICODE') {
    const even = Buffer.from(body.subarray(0, body.length - (body.length % 2)));
    comment = (little ? even : even.swap16()).toString('utf16le');
  } else {
    comment = body.toString('utf8');
  }
  const trimmed = comment.replace(/\0+$/, '').trim();
  return trimmed === '' ? undefined : trimmed;
}
