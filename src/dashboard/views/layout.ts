import { csrfField } from '../csrf.ts';
import { html, type HtmlValue, type SafeHtml } from '../html.ts';
import type { Session } from '../session.ts';

export interface AssetUrls {
  css: string;
  js: string;
  icon: string;
}

export type NavItem = 'tools' | 'purges' | 'keys' | 'edges' | 'sources' | 'assets' | 'preview' | 'webhooks' | 'cluster';

const NAV: readonly { item: NavItem; href: string; label: string }[] = [
  { item: 'tools', href: '/dashboard/tools', label: 'Tools' },
  { item: 'purges', href: '/dashboard/purges', label: 'Purges' },
  { item: 'keys', href: '/dashboard/keys', label: 'API keys' },
  { item: 'edges', href: '/dashboard/edges', label: 'Edges' },
  { item: 'sources', href: '/dashboard/sources', label: 'Sources' },
  { item: 'assets', href: '/dashboard/asset-manager', label: 'Assets' },
  { item: 'preview', href: '/dashboard/preview', label: 'Preview' },
  { item: 'webhooks', href: '/dashboard/webhooks', label: 'Webhooks' },
  { item: 'cluster', href: '/dashboard/cluster', label: 'Cluster' },
];

export interface PageOptions {
  title: string;
  assets: AssetUrls;
  /** Absent on the sign-in page and on errors before sign-in: no navigation then. */
  session?: Session | undefined;
  current?: NavItem;
  /** A one-time message from the previous action (a `role="status"` banner). */
  notice?: string | undefined;
  /** A one-time caution about the previous action (an alert shown below the notice). */
  warning?: string | undefined;
  body: HtmlValue;
}

export function page(options: PageOptions): SafeHtml {
  const { session } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Pictor</title>
<link rel="icon" type="image/svg+xml" href="${options.assets.icon}">
<link rel="stylesheet" href="${options.assets.css}">
<script src="${options.assets.js}" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
  <a class="brand" href="/dashboard/">Pictor</a>
  ${
    session
      ? html`<nav aria-label="Main">
    <ul>
      ${NAV.map(({ item, href, label }) => html`<li><a href="${href}"${item === options.current ? html` aria-current="page"` : ''}>${label}</a></li>`)}
    </ul>
  </nav>
  <form class="sign-out" method="post" action="/dashboard/sign-out">
    ${csrfField(session.csrfToken)}
    <span class="user">${session.username}</span>
    <button type="submit" class="button-link">Sign out</button>
  </form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
  <h1>${options.title}</h1>
  ${options.notice ? html`<div class="alert notice" role="status">${options.notice}</div>` : ''}
  ${options.warning ? html`<div class="alert warning" role="alert" data-warning>${options.warning}</div>` : ''}
  ${options.body}
</main>
</body>
</html>
`;
}
