import type { Command } from 'commander';
import { isPictorError } from '../errors.ts';
import { collect } from './flags.ts';

export function registerVclCommand(program: Command): void {
  program
    .command('vcl')
    .description('print the VCL 4.1 of a Varnish edge in front of Pictor nodes (needs the xkey vmod of varnish-modules)')
    .requiredOption('--backend <host:port>', "a node's render listener, repeatable (round-robin, probed on /healthz)", collect)
    .option('--purger <address-or-cidr>', 'an address or range allowed to PURGE, repeatable (default 127.0.0.1 and ::1)', collect)
    .option('--name <edge>', "the edge's name in Cache-Status (default varnishd's identity, -i)")
    .action(async (flags: { backend: string[]; purger?: string[]; name?: string }) => {
      const { renderVcl } = await import('../edges/vcl.ts');
      try {
        process.stdout.write(renderVcl({ backends: flags.backend, purgers: flags.purger, name: flags.name }));
      } catch (error) {
        throw isPictorError(error) ? new Error(error.message) : error;
      }
    });
}
