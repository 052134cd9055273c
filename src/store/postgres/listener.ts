import pg from 'pg';

/** Wait before connecting again after the LISTEN connection was lost (a server restart, a network cut). */
const RECONNECT_MS = 500;

export interface Listening {
  close(): Promise<void>;
}

/**
 * A connection of its own that LISTENs on `channels` (a pooled connection cannot: it is shared), connected
 * again whenever it is lost. Notifications sent while it was lost are gone, so `onReconnected` is called
 * after each reconnection, for the caller to read what it may have missed. Rejects if the first connection
 * fails.
 */
export async function listen(
  url: string,
  channels: readonly string[],
  onNotification: (channel: string, payload: string) => void,
  handlers: { onReconnected: () => void; onError?: (error: unknown) => void },
): Promise<Listening> {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: 'pictor listen', connectionTimeoutMillis: 2000 });
    let lost = false;
    const onLost = (error?: unknown): void => {
      if (lost) return;
      lost = true;
      if (error !== undefined) handlers.onError?.(error);
      if (client === next) client = undefined;
      next.end().catch(() => {});
      if (!stopped) retry = setTimeout(() => void reconnect(), RECONNECT_MS).unref();
    };
    next.on('error', onLost);
    next.on('end', () => onLost());
    next.on('notification', (message) => onNotification(message.channel, message.payload ?? ''));
    try {
      await next.connect();
      // Channel names are constants of this code base, never input.
      await next.query(channels.map((channel) => `LISTEN ${channel};`).join(' '));
    } catch (error) {
      onLost(error);
      throw error;
    }
    if (stopped) return void next.end().catch(() => {});
    client = next;
  };
  const reconnect = async (): Promise<void> => {
    try {
      await connect();
      handlers.onReconnected();
    } catch {
      // connect() scheduled the next try
    }
  };
  try {
    await connect();
  } catch (error) {
    stopped = true;
    clearTimeout(retry);
    throw error;
  }
  return {
    async close() {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
