import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, topic } from '@poste/protocol';
import { startCapturedApi } from '../test-support/captured-api';
import { HOUR, NOW } from '../test-support/fixtures';

const scheduler = {
  programs: [{ id: 'night', steps: [] }],
  calendars: [{ id: 'c', defaultProgram: 'night', rules: [] }],
  groups: [{ id: 'av', calendar: 'c' }],
};
const enrolment = { name: 'Família Souza', ap: 'ap-1', cededKbps: 4000, consent: { accepted: true, termsVersion: '2024-05' } };
type Desired = { version: number; config: { scheduler?: unknown; bandwidth?: { aps: Record<string, { publicCapKbps: number }> } } };

describe('households (coproduced Wi-Fi)', () => {
  it('enrolment needs consent and an operator; the AP share follows at once as a new desired config; revocation sets it to 0', async () => {
    const t = await startCapturedApi();
    try {
      t.fleet.ingest(topic('configDesired', { gateway: 'gw-b' }), encode({ v: 1, version: 4, config: { scheduler } }));
      const op = await t.auth('operator');
      const enrol = (headers: Record<string, string>, payload: object) =>
        t.api.app.inject({ method: 'POST', url: '/api/v1/households', headers, payload });
      assert.equal((await enrol(await t.auth('viewer'), enrolment)).statusCode, 403);
      const noConsent = await enrol(op, { ...enrolment, consent: { accepted: false, termsVersion: '2024-05' } });
      assert.equal(noConsent.statusCode, 400);
      assert.equal(noConsent.json().issues[0].path, 'body.consent.accepted');
      assert.equal((await enrol(op, { ...enrolment, ap: 'ap-unknown' })).statusCode, 404);
      const r = await enrol(op, enrolment);
      assert.equal(r.statusCode, 201);
      const h = r.json();
      assert.deepEqual([h.municipality, h.state, h.consent.recordedBy], ['belem', 'active', 'operator']);
      const d1 = t.published.at(-1)!;
      assert.deepEqual([d1.topic, d1.retain], ['poste/v1/gw/gw-b/config/desired', true]);
      const c1 = d1.payload as unknown as Desired;
      assert.equal(c1.version, 5);
      assert.deepEqual(c1.config.scheduler, scheduler, 'the scheduler is kept');
      assert.deepEqual(c1.config.bandwidth, { aps: { 'ap-1': { publicCapKbps: 4000 } } });
      assert.equal((await enrol(op, enrolment)).statusCode, 409, 'one household per AP');

      const revoked = await t.api.app.inject({ method: 'POST', url: `/api/v1/households/${h.id}/revoke`, headers: op });
      assert.equal(revoked.json().state, 'revoked');
      const c2 = t.published.at(-1)!.payload as unknown as Desired;
      assert.deepEqual([c2.version, c2.config.bandwidth?.aps['ap-1']?.publicCapKbps], [6, 0]);
      const audit = (await t.api.app.inject({ url: '/api/v1/commands?kind=apPublicShare', headers: op })).json();
      assert.deepEqual(
        audit.items.map((c: { requestedBy: string; request: { publicCapKbps: number } }) => [c.requestedBy, c.request.publicCapKbps]),
        [
          ['operator', 0],
          ['operator', 4000],
        ],
      );
      // Households are named: never readable without a token.
      assert.equal((await t.api.app.inject({ url: '/api/v1/households' })).statusCode, 401);
    } finally {
      await t.api.close();
    }
  });

  it('cedes only inside its time windows (local time), switching within a tick', async () => {
    const t = await startCapturedApi();
    try {
      // NOW is 21:00 on Saturday 1 June in Belém; the window is 22:00–06:00 every day.
      const op = await t.auth('operator');
      await t.api.app.inject({
        method: 'POST',
        url: '/api/v1/households',
        headers: op,
        payload: { ...enrolment, windows: [{ from: '22:00', to: '06:00' }] },
      });
      const share = () => (t.published.at(-1)!.payload as unknown as Desired).config.bandwidth?.aps['ap-1']?.publicCapKbps;
      assert.equal(share(), 0);
      t.setNow(NOW + HOUR);
      await t.until(async () => share() === 4000);
      assert.equal(share(), 4000);
      t.setNow(NOW + 9 * HOUR); // 06:00 Sunday
      await t.until(async () => share() === 0);
      assert.equal(share(), 0);
    } finally {
      await t.api.close();
    }
  });
});
