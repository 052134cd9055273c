import { PictorError } from '../errors.ts';
import { NGINX_PURGE_KEY_HEADER, NGINX_PURGE_PATH } from './nginx-purger.ts';
import { DEFAULT_PURGERS, parseBackend, parsePurger } from './vcl.ts';

/**
 * The configuration of an nginx edge in front of Pictor nodes (nginx 1.22 with ngx_cache_purge 2.3, Debian's
 * libnginx-mod-http-cache-purge), for the `http` block.
 *
 * - Render responses are cached by their Cache-Control under the key `$pictor_cache_key`: the host and the
 *   request URI, then every request header Pictor's answer may vary by (Accept, the client hints), so one key
 *   holds one variant and `Vary` is not needed (and ignored: nginx would file variants under keys a purge of
 *   the primary key leaves behind).
 * - Each request to Pictor names the edge (`X-Pictor-Edge`) and the cache key (`X-Pictor-Cache-Key`), both set
 *   here whatever the client sent. Pictor records the key under the response's edge keys before the response
 *   leaves it (edges/nginx-recorder.ts); a response it cannot record is sent with `X-Accel-Expires: 0`, which
 *   nginx does not cache.
 * - ngx_cache_purge 2.3 removes one key per request and has no wildcard (answers 404): a purge sends one
 *   request per recorded key its edge keys cover (edges/nginx-purger.ts), to a listener of its own that only
 *   the purgers' addresses may use. Its same-location form (`proxy_cache_purge PURGE from …`) is not used:
 *   it crashes the 1.22 worker.
 * - The edge keys (`xkey`, `Cache-Tag`, `Surrogate-Key`) are not passed on to clients.
 */
export interface NginxConfOptions {
  /** The edge's name, exactly as registered (`pictor edges add --kind nginx --name …`). */
  name: string;
  /** The nodes' render listeners, `host:port`. */
  backends: string[];
  /** Addresses or CIDR ranges allowed to purge; default the loopback addresses. */
  purgers?: string[];
  /** Where clients connect; default 80. */
  listen?: string;
  /** Where purges go (the edge's `url` in the registry); default 127.0.0.1:8081. */
  purgeListen?: string;
  /** The cache's folder; default /var/cache/nginx/pictor. */
  cachePath?: string;
  /** The cache's bound on disk; default 10g. */
  maxSize?: string;
}

/** The request headers Pictor's answers may vary by (delivery/client-hints.ts, render/negotiate.ts), in the cache key. */
const VARY_HEADERS = ['accept', 'dpr', 'sec_ch_dpr', 'width', 'sec_ch_width', 'save_data'];
export const NGINX_CACHE_KEY = `$host$request_uri${VARY_HEADERS.map((name) => `|$http_${name}`).join('')}`;

export function renderNginxConf(options: NginxConfOptions): string {
  if (options.backends.length === 0) throw new PictorError('BAD_REQUEST', "Give at least one backend (a node's render listener, HOST:PORT).");
  const name = checkName(options.name);
  const backends = options.backends.map((backend) => {
    const { host, port } = parseBackend(backend);
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  });
  const purgers = (options.purgers?.length ? options.purgers : DEFAULT_PURGERS).map((purger) => parsePurger(purger).replace(/"/g, ''));
  const listen = checkListen(options.listen ?? '80');
  const purgeListen = checkListen(options.purgeListen ?? '127.0.0.1:8081');
  const cachePath = checkPath(options.cachePath ?? '/var/cache/nginx/pictor');
  const maxSize = checkSize(options.maxSize ?? '10g');
  const zone = `pictor_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  return `# An nginx edge of Pictor, printed by \`pictor nginx-conf\`, for the http block. Needs ngx_cache_purge
# (Debian: libnginx-mod-http-cache-purge, which loads it; elsewhere load_module ngx_http_cache_purge_module.so).
# Register it with: pictor edges add --kind nginx --name ${name} --url http://${purgeListen.replace(/^(\d+)$/, '127.0.0.1:$1')}
proxy_cache_path ${cachePath} levels=1:2 keys_zone=${zone}:32m max_size=${maxSize} inactive=7d use_temp_path=off;

upstream ${zone} {
${backends.map((backend) => `    server ${backend} max_fails=2 fail_timeout=5s;`).join('\n')}
    keepalive 16;
}

server {
    listen ${listen};

    # One key per variant: the URL and every request header Pictor's answers may vary by.
    set $pictor_cache_key "${NGINX_CACHE_KEY}";

    location / {
        limit_except GET HEAD { deny all; }
        proxy_pass http://${zone};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header Cookie "";
        proxy_set_header Authorization "";
        # Set here whatever the client sent: Pictor records this key for this edge before it answers.
        proxy_set_header X-Pictor-Edge "${name}";
        proxy_set_header X-Pictor-Cache-Key $pictor_cache_key;
        proxy_cache ${zone};
        proxy_cache_key $pictor_cache_key;
        proxy_cache_lock on;
        proxy_ignore_headers Vary Set-Cookie;
        proxy_next_upstream error timeout http_503;
        proxy_hide_header xkey;
        proxy_hide_header Cache-Tag;
        proxy_hide_header Surrogate-Key;
        add_header Cache-Status "${name}; $upstream_cache_status" always;
    }
}

# Purges: one cache key per request, named in ${headerName(NGINX_PURGE_KEY_HEADER)}; only the purgers may ask.
server {
    listen ${purgeListen};
${purgers.map((purger) => `    allow ${purger};`).join('\n')}
    deny all;

    location = ${NGINX_PURGE_PATH} {
        proxy_cache_purge ${zone} $http_${NGINX_PURGE_KEY_HEADER.replace(/-/g, '_')};
    }
    location / {
        return 404;
    }
}
`;
}

function headerName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

function checkName(name: string): string {
  if (!/^[a-z0-9][a-z0-9\-_.]{0,62}$/.test(name)) {
    const rule = 'lowercase letters, digits, "-", "_", "."';
    throw new PictorError('BAD_REQUEST', `Edge name ${JSON.stringify(name)} must be the name it is registered under: ${rule}.`);
  }
  return name;
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT`, as nginx's listen takes it. */
function checkListen(value: string): string {
  if (/^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535) return value;
  const { host, port } = parseBackend(value);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkPath(value: string): string {
  if (!/^\/[A-Za-z0-9/._-]*$/.test(value)) {
    throw new PictorError('BAD_REQUEST', `Cache path ${JSON.stringify(value)} must be an absolute path of letters, digits, "/", ".", "_", "-".`);
  }
  return value;
}

function checkSize(value: string): string {
  if (!/^\d{1,9}[kmg]?$/i.test(value)) {
    throw new PictorError('BAD_REQUEST', `Cache size ${JSON.stringify(value)} must be a number with k, m or g (e.g. 10g).`);
  }
  return value;
}
