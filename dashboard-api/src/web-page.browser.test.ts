import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { topic } from '@poste/protocol';
import { startTestApi, type TestApi } from './test-support/app';
import { HOUR, NOW, seededStore } from './test-support/fixtures';
import type { EnergyQuery, LuminaireEnergy } from '@poste/telemetry-store';
import { MemoryStore } from '@poste/telemetry-store';
import { luminairePoint } from '@poste/telemetry-store/testing';

/**
 * The operators' page in a real headless Chromium against the API on a loopback port: what the page
 * shows must be the API's numbers in pt-BR formatting. Chromium is required (CI installs it); a
 * missing binary fails this test rather than skipping it.
 */
const CHROMIUM = '/usr/bin/chromium';

const brl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
const dec = (d: number) => new Intl.NumberFormat('pt-BR', { minimumFractionDigits: d, maximumFractionDigits: d });
const normalize = (s: string) => s.replace(/\s/g, ' ');

interface EnergyBody {
  measuredKwh: number;
  baselineKwh: number;
  savedKwh: number;
  savedBrl: number;
  savedCo2Kg: number;
}

/** 1,500 luminaires in Belém and 10 in Santarém, each 600 Wh over 10 h lit (baseline 170 W). */
async function bigStore(): Promise<MemoryStore> {
  const store = new MemoryStore();
  const points = [];
  for (const [municipality, gateway, n] of [
    ['belem', 'gw-b', 1500],
    ['santarem', 'gw-s', 10],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const tags = { municipality, gateway, luminaire: `${municipality}-${i}` };
      points.push(luminairePoint(tags, NOW - 20 * HOUR, 1_000, 100), luminairePoint(tags, NOW - 10 * HOUR, 1_600, 110));
    }
  }
  await store.write(points);
  return store;
}

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe('operators web page in Chromium', () => {
  let t: TestApi;
  let url: string;
  let browser: Browser;
  let page: Page;
  const external: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it (apt-get install -y chromium); this test must not be skipped`);
    t = await startTestApi({ store: await bigStore() });
    t.fleet.ingest(topic('gatewayState', { gateway: 'gw-b' }), JSON.stringify({ v: 1, status: 'online', seq: 1, ts: NOW }));
    t.fleet.ingest(topic('gatewayState', { gateway: 'gw-s' }), JSON.stringify({ v: 1, status: 'offline', seq: 1, ts: NOW }));
    t.fleet.ingest(
      topic('deviceState', { gateway: 'gw-b', device: 'belem-0' }),
      JSON.stringify({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: NOW }),
    );
    t.fleet.ingest(
      topic('deviceState', { gateway: 'gw-s', device: 'santarem-0' }),
      JSON.stringify({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: NOW }),
    );
    url = await t.api.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: LAUNCH_ARGS,
    });
    page = await browser.newPage({ locale: 'pt-BR' });
    // Anything not served by our loopback API is recorded and refused: the page must be self-contained.
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(url)) return route.continue();
      external.push(u);
      return route.abort();
    });
  });

  after(async () => {
    await browser?.close();
    await t?.api.close();
  });

  const text = async (id: string) => normalize((await page.textContent(`#${id}`)) ?? '');
  const api = async (path: string) => (await fetch(`${url}${path}`)).json() as Promise<Record<string, unknown>>;

  /** Waits until the page shows `expected` in #id (it refreshes asynchronously), then asserts it. */
  async function expectShown(id: string, expected: string) {
    await page
      .waitForFunction(
        // Runs in the page; the repo's tsconfig has no DOM lib, hence the minimal shape.
        ([sel, want]) => {
          const doc = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } })
            .document;
          return (doc.getElementById(sel)?.textContent ?? '').replace(/\s/g, ' ') === want;
        },
        [id, expected] as const,
        { timeout: 15_000 },
      )
      .catch(() => undefined);
    assert.equal(await text(id), expected, `#${id}`);
  }

  async function expectEnergy(e: EnergyBody) {
    await expectShown('saved-brl', normalize(brl.format(e.savedBrl)));
    await expectShown('measured-kwh', `${dec(2).format(e.measuredKwh)} kWh`);
    await expectShown('baseline-kwh', `${dec(2).format(e.baselineKwh)} kWh`);
    await expectShown('saved-kwh', `${dec(2).format(e.savedKwh)} kWh`);
    await expectShown('saved-co2', `${dec(2).format(e.savedCo2Kg)} kg`);
  }

  it('shows the API figures for all municipalities, in pt-BR formatting', async () => {
    await page.goto(`${url}/?refresh=1000`);
    const energy = (await api('/api/v1/energy')) as unknown as EnergyBody;
    // 1,510 luminaires × (1.7 − 0.6) kWh; Belém at R$ 0,80, Santarém at R$ 0,50.
    assert.equal(energy.savedBrl, 1325.5);
    await expectEnergy(energy);
    assert.equal(await text('saved-brl'), 'R$ 1.325,50');
    assert.equal(await text('measured-kwh'), '906,00 kWh');
    await expectShown('gateways-online', '1');
    await expectShown('gateways-offline', '1');
    await expectShown('luminaires-online', '1');
    await expectShown('luminaires-offline', '1');
  });

  it('the municipality selector switches the figures to that municipality', async () => {
    await page.waitForSelector('#municipality option[value="santarem"]', { state: 'attached' });
    await page.selectOption('#municipality', 'santarem');
    const energy = (await api('/api/v1/energy?municipality=santarem')) as unknown as EnergyBody;
    await expectEnergy(energy);
    assert.equal(await text('saved-brl'), 'R$ 5,50');
    await expectShown('gateways-online', '0');
    await expectShown('luminaires-offline', '1');
  });

  it('auto-refreshes: new fleet state appears without reloading', async () => {
    t.fleet.ingest(topic('gatewayState', { gateway: 'gw-s' }), JSON.stringify({ v: 1, status: 'online', seq: 2, ts: NOW }));
    await expectShown('gateways-online', '1');
    await expectShown('luminaires-online', '1');
    assert.deepEqual(external, [], 'no request left loopback');
  });
});

/** A store whose energy answers take `delayMs` (a slow or loaded database). */
class SlowStore extends MemoryStore {
  delayMs = 0;
  override async luminaireEnergy(q: EnergyQuery): Promise<LuminaireEnergy[]> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return super.luminaireEnergy(q);
  }
}

describe('operators web page against a slow or refusing API', () => {
  let t: TestApi;
  let store: SlowStore;
  let url: string;
  let browser: Browser;
  /** requests in flight per path, and the most seen at once, counted by the HTTP server itself */
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const started = new Map<string, number>();

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it (apt-get install -y chromium); this test must not be skipped`);
    store = await seededStore(new SlowStore());
    // No rest after a slow query (readShare 1): this test is about the page, the gate has its own tests.
    t = await startTestApi({ store, limits: { retryAfterSeconds: 3, readShare: 1 } });
    url = await t.api.listen({ port: 0, host: '127.0.0.1' });
    t.api.app.server.prependListener('request', (req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      const n = (inFlight.get(path) ?? 0) + 1;
      inFlight.set(path, n);
      started.set(path, (started.get(path) ?? 0) + 1);
      maxInFlight.set(path, Math.max(maxInFlight.get(path) ?? 0, n));
      res.once('close', () => inFlight.set(path, (inFlight.get(path) ?? 1) - 1));
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  after(async () => {
    await browser?.close();
    await t?.api.close();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('never has more than one request per endpoint in flight when answers take longer than the refresh period', async () => {
    store.delayMs = 1_800;
    const page = await browser.newPage({ locale: 'pt-BR' });
    try {
      await page.goto(`${url}/?refresh=1000`);
      await page.waitForSelector('#municipality option[value="santarem"]', { state: 'attached' });
      await sleep(2_500);
      // Switching municipality while a request runs must not start a second one beside it.
      await page.selectOption('#municipality', 'santarem');
      await sleep(200);
      await page.selectOption('#municipality', 'belem');
      await sleep(4_000);
      const energyRequests = started.get('/api/v1/energy') ?? 0;
      assert.ok(energyRequests >= 3, `the page kept refreshing (${energyRequests} energy requests in ~7 s)`);
      assert.equal(maxInFlight.get('/api/v1/energy'), 1, 'energy requests in flight at once');
      assert.equal(maxInFlight.get('/api/v1/fleet'), 1, 'fleet requests in flight at once');
    } finally {
      await page.close();
    }
  });

  it('backs off on a 503, waiting at least the Retry-After the server gives', async () => {
    store.delayMs = 0;
    store.failing = true;
    const page = await browser.newPage({ locale: 'pt-BR' });
    try {
      const before = started.get('/api/v1/energy') ?? 0;
      await page.goto(`${url}/?refresh=1000`);
      await page.waitForSelector('#error', { state: 'visible' });
      await sleep(5_000);
      const asked = (started.get('/api/v1/energy') ?? 0) - before;
      // Polling every second would ask 5-6 times; Retry-After: 3 allows the first and at most one more.
      assert.ok(asked >= 1 && asked <= 2, `energy asked ${asked} times in ~5 s while the server said Retry-After: 3`);
      assert.match((await page.textContent('#error')) ?? '', /HTTP 503/);
    } finally {
      store.failing = false;
      await page.close();
    }
  });
});
