import type { Command } from 'commander';
import { isPictorError } from '../errors.ts';
import { collect } from './flags.ts';

interface NginxConfFlags {
  name: string;
  backend: string[];
  purger?: string[];
  listen?: string;
  purgeListen?: string;
  cachePath?: string;
  maxSize?: string;
}

export function registerNginxConfCommand(program: Command): void {
  program
    .command('nginx-conf')
    .description("print the configuration of an nginx edge in front of Pictor nodes, for nginx's http block (needs ngx_cache_purge)")
    .requiredOption('--name <edge>', 'the name the edge is registered under (pictor edges add --kind nginx --name …)')
    .requiredOption('--backend <host:port>', "a node's render listener, repeatable", collect)
    .option('--purger <address-or-cidr>', 'an address or range allowed to purge, repeatable (default 127.0.0.1 and ::1)', collect)
    .option('--listen <[host:]port>', 'where clients connect (default 80)')
    .option('--purge-listen <[host:]port>', "where purges go: the edge's --url (default 127.0.0.1:8081)")
    .option('--cache-path <dir>', 'the cache folder (default /var/cache/nginx/pictor)')
    .option('--max-size <size>', 'the cache size on disk, e.g. 10g (default 10g)')
    .action(async (flags: NginxConfFlags) => {
      const { renderNginxConf } = await import('../edges/nginx-conf.ts');
      try {
        process.stdout.write(renderNginxConf({ ...flags, backends: flags.backend, purgers: flags.purger }));
      } catch (error) {
        throw isPictorError(error) ? new Error(error.message) : error;
      }
    });
}
