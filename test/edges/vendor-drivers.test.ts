import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClosableDriver } from '../../src/edges/vendor-drivers.ts';
import { VendorDrivers } from '../../src/edges/vendor-drivers.ts';
import type { EdgeRecord } from '../../src/store/edge-store.ts';

const edge = (name: string, settings: Record<string, string>, secrets: Record<string, string> = { api_token: 't' }): EdgeRecord => ({
  name, kind: 'cloudflare', url: null, settings, secrets, inRotation: true, reason: null, changedAt: 0, createdAt: 0,
  readmittedAt: null, readmittedBy: null, lastError: null,
});

/** Drivers made here count how often they are closed. */
function maker(made: { closed: number }[]): () => ClosableDriver {
  return () => {
    const driver = { closed: 0 };
    made.push(driver);
    return { purge: async () => ({ state: 'purged' }), close: async () => void driver.closed++ };
  };
}

describe('one vendor driver per CDN edge', () => {
  it('keeps an edge\'s driver while its settings stay the same, and closes it once they change', async () => {
    const made: { closed: number }[] = [];
    const drivers = new VendorDrivers({ outboundAllow: [] });
    const first = drivers.get(edge('cf', { zone_id: 'a' }), maker(made));
    assert.equal(drivers.get(edge('cf', { zone_id: 'a' }), maker(made)), first);
    assert.equal(made.length, 1);
    assert.notEqual(drivers.get(edge('cf', { zone_id: 'a' }, { api_token: 'new' }), maker(made)), first);
    assert.deepEqual(made.map((each) => each.closed), [1, 0]);
    await drivers.close();
  });

  it('closes the drivers of edges removed, and every driver at stop', async () => {
    const made: { closed: number }[] = [];
    const drivers = new VendorDrivers({ outboundAllow: [] });
    for (const name of ['a', 'b', 'c']) drivers.get(edge(name, { zone_id: name }), maker(made));
    await drivers.forget('a');
    assert.deepEqual(made.map((each) => each.closed), [1, 0, 0]);
    await drivers.retain(['c']);
    assert.deepEqual(made.map((each) => each.closed), [1, 1, 0]);
    await drivers.close();
    assert.deepEqual(made.map((each) => each.closed), [1, 1, 1]);
  });
});
