// The operators' page in headless Chromium against a running city: login with the first run's
// admin token, charts drawn from the API's data, no console error and no failed request; an override
// issued from the page travels dashboard → broker → agent → simulated luminaire and its ack shows;
// a fault injected into a simulated luminaire appears and is acknowledged from the page; a viewer
// cannot issue a command. Screenshots are kept in a temporary directory printed by the test.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startCity, type City } from '@poste/city';
import { SimClock, type CityScenarioInput } from '@poste/simulators';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';

/** The little of the DOM the browser-side checks use (this package's TypeScript has no DOM types). */
interface Dom {
  getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
}

const start = Date.parse('2024-06-04T00:30:00Z'); // 21:30 in São Paulo: the lights are on
const scenario: CityScenarioInput = {
  seed: 5,
  start: new Date(start).toISOString(),
  speed: 600,
  reportIntervalS: 60,
  stepS: 10,
  municipalities: [
    {
      id: 'campinas',
      name: 'Campinas',
      timeZone: 'America/Sao_Paulo',
      lat: -22.9056,
      lon: -47.0608,
      gateways: [{ id: 'cps-page', luminaires: 24, aps: 2 }],
    },
  ],
};

describe('operators page in Chromium against a city', () => {
  let dataDir: string;
  let shots: string;
  let store: TelemetryStore;
  let city: City;
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'poste-page-'));
    shots = await mkdtemp(join(tmpdir(), 'poste-page-screenshots-'));
    store = await openStore({ kind: 'embedded', path: join(dataDir, 't.duckdb') });
    city = await startCity({ scenario, dataDir, store, clock: SimClock.accelerated(start, 600) });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  });
  after(async () => {
    await browser?.close();
    await city?.stop();
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
    process.stdout.write(`# screenshots kept in ${shots}\n`);
  });

  async function open(token: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => {
      // The event stream is aborted on purpose when the page closes.
      if (!r.url().endsWith('/api/v1/stream')) problems.push(`failed ${r.url()}: ${r.failure()?.errorText}`);
    });
    await page.goto(`${city.dashboardUrl}/?refresh=5000`);
    await page.fill('#token', token);
    await page.click('#login-form button');
    await page.waitForSelector('#app:not(.hidden)');
    return page;
  }

  it('an admin sees the charts, overrides a luminaire (the ack shows) and acknowledges a fault', async () => {
    const admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    // A household cedes its AP's Wi-Fi: its row, figures and ledger show on the page.
    const enrol = await fetch(`${city.dashboardUrl}/api/v1/households`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Família Souza',
        ap: city.generated.aps[0]!.id,
        cededKbps: 4_000,
        consent: { accepted: true, termsVersion: 'v1' },
      }),
    });
    assert.equal(enrol.status, 201, await enrol.clone().text());
    const household = ((await enrol.json()) as { id: string }).id;
    // Every reading up to now in the store: the charts need data.
    await city.settle(city.clock.now());
    const page = await open(admin);
    // Browser-side checks (functions, not strings: the page's CSP forbids eval). Each reads a data-
    // attribute the page sets from the API's answer; the arguments are the element id and the least value.
    const wait = (id: string, key: string, least: number) =>
      page.waitForFunction(
        ([i, k, n]) =>
          Number((globalThis as unknown as { document: Dom }).document.getElementById(i as string)?.dataset[k as string]) >= (n as number),
        [id, key, least] as const,
        { timeout: 30_000 },
      );
    await wait('luminaires-online', 'value', 1);
    await wait('energy-chart', 'points', 1);
    await wait('wifi-chart', 'points', 1);
    await wait('map', 'poles', 26);
    assert.equal(await page.locator('#energy-chart canvas').count(), 1, 'uPlot drew the energy chart');
    await wait('tele-sessions', 'value', 0);
    await wait('reserve-pct', 'value', 0);
    await page.click(`#households tr[data-household="${household}"] button.ledger`);
    await page.waitForSelector(`#ledger[data-household="${household}"] tbody tr`, { timeout: 30_000 });
    assert.match(
      (await page.textContent('#ledger-title')) ?? '',
      /Extrato de Família Souza · .* MB público, .* sessões, reserva respeitada/,
    );
    const measured = Number(await page.getAttribute('#today-kwh', 'data-value'));
    assert.ok(measured > 0, `energy in the last 24 h is shown (${measured} kWh)`);
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

    const lum = city.generated.luminaires[3]!.id;
    await page.fill('#ov-luminaire', lum);
    await page.fill('#ov-level', '37');
    await page.click('#ov-submit');
    // (the household's apPublicShare command is in the list too)
    await page.waitForSelector('#commands tr[data-state="done"]:has-text("nível 37%")', { timeout: 30_000 });
    const row = await page.textContent('#commands tr[data-state="done"]:has-text("nível 37%")');
    assert.match(row ?? '', new RegExp(`nível 37% em ${lum}.*concluído`));

    city.fleet.injectFault(city.generated.luminaires[5]!.id, 'lampFailure');
    await page.waitForSelector('#faults button.ack', { timeout: 30_000 });
    await page.click('#faults button.ack');
    await page.waitForSelector('#faults td:text-is("reconhecida")', { timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'after-override-and-ack.png'), fullPage: true });
    await page.close();
    assert.deepEqual(problems, [], 'no console error, no failed or refused request');
  });

  it('a viewer reads but cannot issue a command', async () => {
    const { token } = await city.api.tokens.create({ name: 'painel da sala', role: 'viewer' });
    const page = await open(token);
    assert.equal(await page.isDisabled('#ov-submit'), true);
    assert.match((await page.textContent('#command-note')) ?? '', /só permite consultar/);
    const status = await page.evaluate(
      async (t) =>
        (
          await fetch('/api/v1/commands', {
            method: 'POST',
            headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
            body: JSON.stringify({ kind: 'override', target: { municipality: 'campinas' }, level: 0, expiry: 9e12 }),
          })
        ).status,
      token,
    );
    assert.equal(status, 403);
    await page.screenshot({ path: join(shots, 'viewer.png'), fullPage: true });
    await page.close();
  });
});
