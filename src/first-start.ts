import { newApiKey } from './auth/api-keys.ts';
import { ADMIN_USERNAME, generatePassword, hashPassword } from './dashboard/accounts.ts';
import { FIRST_START_META, type Stores } from './store/stores.ts';

/** The name the first admin API key is listed under (`pictor keys list`). */
export const FIRST_KEY_NAME = 'admin (first start)';

export interface ShownOnce {
  /** The admin API key, when this call created it: shown once, never stored in plain text. */
  apiKey: string | undefined;
  /** The dashboard's `admin` password, when this call created the account: shown once. */
  adminPassword: string | undefined;
}

/**
 * The first admin API key and the dashboard's `admin` account, for the first start that comes up.
 *
 * Invariant: credentials that are shown only once are created only once the node's listeners are listening,
 * just before they are shown. A start that fails before (a port in use, a bad setting) creates nothing, so the
 * next start that comes up creates and shows them: a failed first start never leaves a key nobody saw. The
 * store writes both in one transaction and says which it wrote, so of nodes starting at once on an empty
 * database exactly one shows the key and one the password. Should that node die before printing, the
 * operator still has a way in: `pictor keys create` and `pictor admin set-password`, named in every banner.
 */
export async function createFirstCredentials(stores: Stores): Promise<ShownOnce> {
  // Every later start ends here without the cost of a password hash.
  if ((await stores.meta.get(FIRST_START_META)) !== undefined && (await stores.accounts.exists(ADMIN_USERNAME))) {
    return { apiKey: undefined, adminPassword: undefined };
  }
  const { key, row } = newApiKey(FIRST_KEY_NAME, ['admin']);
  const password = generatePassword();
  const adminPasswordHash = await hashPassword(password);
  const written = await stores.firstStart.record({ apiKey: row, adminUsername: ADMIN_USERNAME, adminPasswordHash, at: Date.now() });
  return { apiKey: written.apiKey ? key : undefined, adminPassword: written.account ? password : undefined };
}
