import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS } from '../config/options.ts';
import { ADMIN_USERNAME, AdminAccounts, checkNewPassword } from '../dashboard/accounts.ts';
import { openDatabase } from '../store/db.ts';

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

  admin
    .command('set-password')
    .description('set the dashboard password of "admin" (read from standard input, or --password), sign out its sessions and forget its trusted browsers')
    .option('--password <password>', 'the new password (else it is read from standard input)')
    .option('--data <dir>', 'data directory (env PICTOR_DATA_DIR, default ./.pictor)')
    .action(async (flags: { password?: string; data?: string }) => {
      const password = flags.password ?? (await readPassword());
      const problem = checkNewPassword(password);
      if (problem) throw new Error(problem);
      // Works on the data directory directly, whether or not a server is running on it (SQLite WAL).
      const db = openDatabase(path.resolve(flags.data ?? process.env.PICTOR_DATA_DIR ?? DEFAULTS.dataDir));
      try {
        const { created, sessionsEnded, devicesForgotten } = await new AdminAccounts(db).setPassword(ADMIN_USERNAME, password);
        const ended = sessionsEnded > 0 ? ` ${sessionsEnded} dashboard session${sessionsEnded === 1 ? ' was' : 's were'} signed out.` : '';
        const forgotten = devicesForgotten > 0 ? ` ${devicesForgotten} browser${devicesForgotten === 1 ? ' is' : 's are'} no longer trusted.` : '';
        process.stdout.write(`${created ? 'Created the dashboard account "admin" with this password.' : 'The dashboard password of "admin" is changed.'}${ended}${forgotten}\n`);
      } finally {
        db.close();
      }
    });
}
