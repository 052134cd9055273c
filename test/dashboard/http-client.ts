import { Agent, fetch } from 'undici';

/** A tiny browser stand-in for the dashboard over HTTP: a cookie jar, form posts, no redirects followed. */
export interface DashboardResponse {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  setCookies: string[];
}

export class DashboardClient {
  readonly cookies = new Map<string, string>();
  private readonly agent: Agent | undefined;

  /** `localAddress`: connect from this address (any of 127.0.0.0/8 on Linux), to be another client address. */
  constructor(
    readonly baseUrl: string,
    options: { localAddress?: string } = {},
  ) {
    this.agent = options.localAddress === undefined ? undefined : new Agent({ localAddress: options.localAddress });
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<DashboardResponse> {
    return this.send(path, { method: 'GET', headers });
  }

  async post(path: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<DashboardResponse> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) for (const item of [value].flat()) body.append(name, item);
    return this.send(path, { method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  /** The value of the first hidden `_csrf` field of a page. */
  static csrfOf(html: string): string {
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!match) throw new Error('no CSRF field on the page');
    return match[1]!;
  }

  async signIn(username: string, password: string): Promise<DashboardResponse> {
    const page = await this.get('/dashboard/sign-in');
    return this.post('/dashboard/sign-in', { _csrf: DashboardClient.csrfOf(page.text), username, password, next: '/dashboard/tools' });
  }

  /** A page's CSRF token, for a form post. */
  async csrf(path = '/dashboard/tools'): Promise<string> {
    return DashboardClient.csrfOf((await this.get(path)).text);
  }

  private async send(path: string, init: { method: string; body?: string; headers: Record<string, string> }): Promise<DashboardResponse> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: init.method,
      body: init.body,
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...init.headers },
      dispatcher: this.agent,
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, headers: response.headers, text: await response.text(), location: response.headers.get('location'), setCookies };
  }
}
