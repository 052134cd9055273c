/** `host:port/database`: never the user's password. Apart from the stores, so messages need not load the driver. */
export function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname || '/'}`;
}
