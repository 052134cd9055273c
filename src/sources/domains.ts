import { normalizeHost, type Deployment } from '../store/source-record.ts';

/** The host an `imgix_subdomains` label serves under the base domain: `shop` + `images.example.com`. */
export function subdomainHost(label: string, baseDomain: string): string {
  return `${label.toLowerCase()}.${baseDomain}`;
}

/**
 * Every host a Source is served on: its `custom_domains`, plus `<label>.<baseDomain>` for each
 * `imgix_subdomains` label when a base domain is configured (without one, labels route nothing).
 */
export function routingHosts(deployment: Pick<Deployment, 'custom_domains' | 'imgix_subdomains'>, baseDomain: string | undefined): string[] {
  const hosts = deployment.custom_domains.map(normalizeHost);
  if (baseDomain !== undefined) for (const label of deployment.imgix_subdomains) hosts.push(subdomainHost(label, baseDomain));
  return hosts;
}
