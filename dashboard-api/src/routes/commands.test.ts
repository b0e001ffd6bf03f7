import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, topic } from '@poste/protocol';
import { startCapturedApi as setup } from '../test-support/captured-api';
import { NOW } from '../test-support/fixtures';

describe('commands', () => {
  it('an override goes to the luminaire’s gateway as dim-until and completes with its ack; a viewer cannot issue one', async () => {
    const t = await setup();
    try {
      const override = { kind: 'override', target: { luminaire: 'lum-b1' }, level: 30, expiry: NOW + 3_600_000 };
      const denied = await t.post(await t.auth('viewer'), override);
      assert.equal(denied.statusCode, 403);
      assert.equal(t.published.length, 0);
      const r = await t.post(await t.auth('operator'), override);
      assert.equal(r.statusCode, 202);
      const rec = r.json();
      assert.deepEqual(
        [rec.state, rec.requestedBy, rec.parts[0].gateway, rec.parts[0].target, rec.parts[0].outcome],
        ['sent', 'operator', 'gw-b', 'device:lum-b1', 'pending'],
      );
      assert.equal(t.published[0]!.topic, 'poste/v1/gw/gw-b/cmd');
      assert.deepEqual(
        { ...t.published[0]!.payload, issuedAt: 0 },
        {
          v: 1,
          id: rec.parts[0].ref,
          target: { device: 'lum-b1' },
          issuedAt: 0,
          expiresAt: NOW + 3_600_000,
          action: 'dim',
          level: 30,
          until: NOW + 3_600_000,
        },
      );
      t.fleet.ingest(topic('ack', { gateway: 'gw-b' }), encode({ v: 1, id: rec.parts[0].ref, outcome: 'done', ts: NOW }));
      const done = await t.get(rec.id);
      assert.deepEqual([done.state, done.outcome, done.parts[0].outcome], ['done', 'done', 'done']);
      const audit = (await t.api.app.inject({ url: '/api/v1/commands?kind=override', headers: await t.auth('viewer') })).json();
      assert.equal(audit.total, 1);
    } finally {
      await t.api.close();
    }
  });

  it('a municipality override is one command per group and per ungrouped luminaire; a partial failure shows', async () => {
    const t = await setup();
    try {
      const op = await t.auth('operator');
      const rec = (await t.post(op, { kind: 'clearOverride', target: { municipality: 'belem' } })).json();
      assert.deepEqual(rec.parts.map((p: { target: string }) => p.target).sort(), ['device:lum-b2', 'group:av']);
      t.fleet.ingest(topic('ack', { gateway: 'gw-b' }), encode({ v: 1, id: rec.parts[0].ref, outcome: 'done', ts: NOW }));
      t.fleet.ingest(
        topic('ack', { gateway: 'gw-b' }),
        encode({ v: 1, id: rec.parts[1].ref, outcome: 'timeout', ts: NOW, detail: 'device did not answer' }),
      );
      const after = await t.get(rec.id);
      assert.deepEqual([after.state, after.outcome], ['partial', 'timeout']);
      const unknown = await t.post(op, { kind: 'override', target: { luminaire: 'lum-zz' }, level: 1, expiry: NOW + 1000 });
      assert.equal(unknown.statusCode, 404);
      const past = await t.post(op, { kind: 'override', target: { luminaire: 'lum-b1' }, level: 1, expiry: NOW - 1 });
      assert.equal(past.json().issues[0].path, 'body.expiry');
    } finally {
      await t.api.close();
    }
  });

  it('a later start is held, sent at its start, and can be cancelled before; an unanswered part times out', async () => {
    const t = await setup(200);
    try {
      const op = await t.auth('operator');
      const body = {
        kind: 'override',
        target: { municipality: 'belem', group: 'av' },
        level: 50,
        start: NOW + 60_000,
        expiry: NOW + 120_000,
      };
      const held = (await t.post(op, body)).json();
      const cancelled = (await t.post(op, body)).json();
      assert.equal(held.state, 'scheduled');
      assert.equal(
        (await t.api.app.inject({ method: 'DELETE', url: `/api/v1/commands/${cancelled.id}`, headers: op })).json().state,
        'cancelled',
      );
      assert.equal(t.published.length, 0);
      t.setNow(NOW + 60_000);
      await t.until(async () => (await t.get(held.id)).state !== 'scheduled');
      assert.equal(t.published.length, 1, 'the cancelled one never leaves');
      assert.deepEqual(t.published[0]!.payload.target, { group: 'av' });
      await t.until(async () => (await t.get(held.id)).state === 'failed');
      const timedOut = await t.get(held.id);
      assert.deepEqual([timedOut.outcome, timedOut.parts[0].detail], ['timeout', 'no answer from gw-b within 0.2 s']);
    } finally {
      await t.api.close();
    }
  });

  it('assigning a program is a technician’s: a new retained desired config, done when the agent reports it applied', async () => {
    const t = await setup();
    try {
      const scheduler = {
        programs: [
          { id: 'night', steps: [] },
          { id: 'festive', steps: [] },
        ],
        calendars: [{ id: 'residential', defaultProgram: 'night', rules: [] }],
        groups: [{ id: 'av', calendar: 'residential' }],
      };
      t.fleet.ingest(topic('configDesired', { gateway: 'gw-b' }), encode({ v: 1, version: 4, config: { scheduler } }));
      const body = { kind: 'assignCalendar', municipality: 'belem', group: 'av', program: 'festive' };
      assert.equal((await t.post(await t.auth('operator'), body)).statusCode, 403);
      const tech = await t.auth('technician');
      assert.equal((await t.post(tech, { ...body, program: 'nope' })).statusCode, 409);
      const rec = (await t.post(tech, body)).json();
      const pub = t.published.at(-1)!;
      assert.deepEqual([pub.topic, pub.retain, pub.payload.version], ['poste/v1/gw/gw-b/config/desired', true, 5]);
      const sent = (pub.payload.config as { scheduler: typeof scheduler }).scheduler;
      assert.deepEqual(sent.groups, [{ id: 'av', calendar: 'every-day-festive' }]);
      assert.deepEqual(sent.calendars[1], { id: 'every-day-festive', defaultProgram: 'festive', rules: [] });
      t.fleet.ingest(topic('configReported', { gateway: 'gw-b' }), encode({ v: 1, version: 5, ts: NOW, status: 'applied' }));
      assert.equal((await t.get(rec.id)).state, 'done');
    } finally {
      await t.api.close();
    }
  });
});
