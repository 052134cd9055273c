import type { Command } from 'commander';
import { ADMIN_USERNAME, AdminAccounts, checkNewPassword } from '../dashboard/accounts.ts';
import { storeOptions, storeSettings, withStores, type StoreFlags } from './stores.ts';

/** Reads the new password: all of standard input (one trailing newline dropped), or one line typed at a terminal. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) process.stderr.write('New password for the dashboard: ');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (stdin.isTTY && chunk.includes(0x0a)) break;
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('manage the dashboard account');

  storeOptions(
    admin
      .command('set-password')
      .description('set the dashboard password of "admin" (read from standard input, or --password), sign out its sessions and forget its trusted browsers')
      .option('--password <password>', 'the new password (else it is read from standard input)'),
  ).action(async (flags: StoreFlags & { password?: string }) => {
    storeSettings(flags); // a wrong --database is reported before the password is read
    const password = flags.password ?? (await readPassword());
    const problem = checkNewPassword(password);
    if (problem) throw new Error(problem);
    const { created, sessionsEnded, devicesForgotten } = await withStores(flags, (stores) => new AdminAccounts(stores.accounts).setPassword(ADMIN_USERNAME, password));
    const ended = sessionsEnded > 0 ? ` ${sessionsEnded} dashboard session${sessionsEnded === 1 ? ' was' : 's were'} signed out.` : '';
    const forgotten = devicesForgotten > 0 ? ` ${devicesForgotten} browser${devicesForgotten === 1 ? ' is' : 's are'} no longer trusted.` : '';
    process.stdout.write(`${created ? 'Created the dashboard account "admin" with this password.' : 'The dashboard password of "admin" is changed.'}${ended}${forgotten}\n`);
  });
}
