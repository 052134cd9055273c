/**
 * Parsers of setting values: each turns the text of a flag, an environment variable or a default into the
 * value Pictor runs with, or throws InvalidValue saying what is wrong. The message starts with "must", and
 * ConfigError puts the setting's name before it (`--port (PICTOR_PORT) must be …`).
 */
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { decodeSecretKey } from './secret-key.ts';

export class InvalidValue extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidValue';
  }
}

export type Parse<T> = (raw: string) => T;

/** A whole number from min to max. */
export function integer(min: number, max: number): Parse<number> {
  return (raw) => {
    const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidValue(`must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
}

/** Any number from min to max (fractions allowed). */
export function decimal(min: number, max: number): Parse<number> {
  return (raw) => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) throw new InvalidValue(`must be a number from ${min} to ${max}, got "${raw}"`);
    return value;
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Sizes accept plain bytes or a unit: `512mb`, `2g`. */
export const bytes: Parse<number> = (raw) => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidValue(`must be a size such as 1048576, 512mb or 2gb, got "${raw}"`);
  return Math.floor(Number(match[1]) * unit);
};

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 24 * 3600 };

/** Durations in seconds, written as plain seconds or with a unit: `90s`, `30m`, `12h`, `7d`. */
export function duration(minSeconds: number, maxSeconds: number): Parse<number> {
  return (raw) => {
    const match = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(raw);
    const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]! : NaN;
    if (!Number.isSafeInteger(seconds) || seconds < minSeconds || seconds > maxSeconds) {
      throw new InvalidValue(
        `must be a duration from ${minSeconds} seconds to ${maxSeconds / (24 * 3600)} days, such as 3600, 90m, 12h or 7d, got "${raw}"`,
      );
    }
    return seconds;
  };
}

export const boolean: Parse<boolean> = (raw) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new InvalidValue(`must be true or false (1 or 0), got "${raw}"`);
};

/** One of a fixed list of words. */
export function oneOf<const T extends string>(choices: readonly T[]): Parse<T> {
  return (raw) => {
    if (!(choices as readonly string[]).includes(raw)) throw new InvalidValue(`must be one of ${choices.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

/** The value as given (a program's path). */
export const text: Parse<string> = (raw) => raw;

/** A path, made absolute against the working directory. */
export const directory: Parse<string> = (raw) => path.resolve(raw);

/** A host name or IP address to listen on; `[::1]` is taken as `::1`. */
export const hostName: Parse<string> = (raw) => {
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(raw)) throw new InvalidValue(`must be a host name or IP address, got "${raw}"`);
  return raw.replace(/^\[(.*)\]$/, '$1');
};

/** A domain name, lowercase, without a final dot. */
export const domainName: Parse<string> = (raw) => {
  const domain = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(domain)) {
    throw new InvalidValue(`must be a domain name such as images.example.com, got "${raw}"`);
  }
  return domain;
};

/** An absolute http or https URL. */
export const httpUrl: Parse<URL> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidValue(`must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidValue(`must be an http or https URL, got "${raw}"`);
  return url;
};

/** An http(s) URL kept as written (printed back as the operator wrote it). */
export const httpUrlText: Parse<string> = (raw) => {
  httpUrl(raw);
  return raw;
};

/** A PostgreSQL URL; a wrong one is not echoed, since it may hold a password. */
export const databaseUrl: Parse<string> = (raw) => {
  const example = 'a PostgreSQL URL such as postgres://USER@HOST:PORT/DB';
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new InvalidValue(`must be ${example}, and the value given is not a URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidValue(`must be ${example}, and the value given starts with "${url.protocol}//"`);
  }
  if (url.hostname === '' || url.pathname.length <= 1) throw new InvalidValue(`must be ${example}, with a host and a database name`);
  return raw.trim();
};

/** A node's name: letters, digits and `.-_:@[]`, as a host name with a port is written. */
export const nodeId: Parse<string> = (raw) => {
  const id = raw.trim();
  if (!/^[A-Za-z0-9._:@[\]-]{1,128}$/.test(id)) {
    throw new InvalidValue(`must be 1 to 128 letters, digits or . - _ : @ [ ] (such as node-1 or host.example:3000), got "${raw}"`);
  }
  return id;
};

/** `127.0.0.1/32,10.0.0.0/8,::1`: each entry an IP or a CIDR (validated by node:net); empty entries are skipped. */
export const cidrList: Parse<string[]> = (raw) => {
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !validBits || extra !== undefined) {
      throw new InvalidValue(`must be a comma-separated list of IPs and CIDRs such as 127.0.0.1/32, got "${entry}"`);
    }
  }
  return entries;
};

/** One or more comma-separated 32-byte keys, base64 or hex; the value is never echoed. */
export const secretKeys: Parse<Buffer[]> = (raw) =>
  raw
    .split(',')
    .map((entry) => entry.trim())
    .map((entry, index) => {
      const key = decodeSecretKey(entry);
      if (key === undefined) {
        throw new InvalidValue(
          'must be one or more comma-separated 32-byte keys in base64 or hex (such as the output of `openssl rand -base64 32`), ' +
            `and entry ${index + 1} is not one`,
        );
      }
      return key;
    });

/**
 * Existing directories, as real paths (without repeats), so that a Source's folder is compared with what its
 * symlinks lead to. Empty entries are skipped.
 */
export function existingDirectories(entries: readonly string[]): string[] {
  const real: string[] = [];
  for (const entry of entries.map((root) => root.trim()).filter(Boolean)) {
    let resolved: string;
    try {
      resolved = fs.realpathSync(path.resolve(entry));
    } catch {
      throw new InvalidValue(`must name existing directories, and "${entry}" does not exist`);
    }
    if (!fs.statSync(resolved).isDirectory()) throw new InvalidValue(`must name existing directories, and "${entry}" is not a directory`);
    if (!real.includes(resolved)) real.push(resolved);
  }
  return real;
}

/** Where the Video API keeps its outputs: a directory, or an S3-compatible bucket with an optional key prefix. */
export type VideoStoreLocation = { kind: 'directory'; path: string } | { kind: 's3'; bucket: string; prefix: string };

/** `s3://bucket[/prefix]`, or a directory path (made absolute). */
export const videoStoreLocation: Parse<VideoStoreLocation> = (raw) => {
  const value = raw.trim();
  if (!/^s3:\/\//i.test(value)) return { kind: 'directory', path: path.resolve(value) };
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/i.exec(value);
  if (!match) throw new InvalidValue(`must be a directory or s3://BUCKET/PREFIX with a valid bucket name, got "${raw}"`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new InvalidValue(`the key prefix must not hold . or .. parts, got "${raw}"`);
  }
  return { kind: 's3', bucket: match[1]!, prefix };
};
