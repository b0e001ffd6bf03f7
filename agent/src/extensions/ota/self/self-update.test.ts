// The agent's A/B slots without processes: seeding, install into the inactive slot, the trial and
// its commit or rollback, the launcher's start counting, refusals, and a power cut mid-write.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { canonicalManifestBytes, type FirmwareManifest, type OtaJob, type OtaStatus } from '@poste/protocol';
import { pino } from 'pino';
import { systemTimers } from '../../../core/timers';
import { OtaRelay } from '../ota-relay';
import { planBoot } from './boot-plan';
import { SelfUpdater, type SelfUpdaterOptions } from './self-updater';
import { loadSlotState, type SlotState, slotFile } from './slot-state';

const keys = generateKeyPairSync('ed25519');
const pubPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const keyId = createHash('sha256')
  .update(keys.publicKey.export({ type: 'spki', format: 'der' }))
  .digest('hex')
  .slice(0, 16);

function manifestFor(bundle: Buffer, version: string, over: Partial<FirmwareManifest> = {}): FirmwareManifest {
  const unsigned = {
    v: 1 as const,
    family: 'gateway-agent' as const,
    model: 'debian',
    version,
    size: bundle.byteLength,
    sha256: createHash('sha256').update(bundle).digest('hex'),
    chunkSize: 1024,
    keyId,
    ...over,
  };
  const { signature: _s, ...toSign } = { ...unsigned, signature: '' };
  return { ...unsigned, signature: sign(null, canonicalManifestBytes(toSign), keys.privateKey).toString('base64') };
}

const job = (m: FirmwareManifest, jobId = 'job-1', force?: OtaJob['force']): OtaJob => ({
  v: 1,
  jobId,
  manifest: m,
  targets: ['$gateway'],
  issuedAt: 1,
  ...(force ? { force } : {}),
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rig(over: Partial<SelfUpdaterOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'poste-slots-'));
  dirs.push(dir);
  const factory = join(dir, 'factory.mjs');
  writeFileSync(factory, 'console.log("factory 1.0.0")\n');
  const slotsDir = join(dir, 'slots');
  let versionAsked = 0;
  const plan = () =>
    planBoot({
      slotsDir,
      factoryFile: factory,
      factoryVersion: () => {
        versionAsked++;
        return '1.0.0';
      },
      maxAttempts: 2,
      now: () => 1000,
    });
  const restarts: string[] = [];
  const published: OtaStatus[] = [];
  const updater = (slot: 'a' | 'b', o: Partial<SelfUpdaterOptions> = {}) => {
    const u = new SelfUpdater({
      slotsDir,
      slot,
      model: 'debian',
      trustedKeysPem: [pubPem],
      trialMs: 60_000,
      now: () => 2000,
      log: pino({ level: 'silent' }),
      restart: (r) => restarts.push(r),
      uptimeMs: () => 0,
      ...over,
      ...o,
    });
    u.attach((s) => {
      published.push(s);
      return true;
    });
    return u;
  };
  const state = (): SlotState => {
    const r = loadSlotState(slotsDir);
    assert.ok(r.ok);
    return r.state;
  };
  return { dir, slotsDir, factory, plan, updater, state, restarts, published, versionAsked: () => versionAsked };
}

const healthy = { north: async () => {}, lan: async () => null };

describe('agent self-update: A/B slots', () => {
  it('seeds slot a from the packaged bundle once; later starts boot it without asking its version', () => {
    const r = rig();
    const first = r.plan();
    assert.deepEqual([first.slot, first.trial, first.version], ['a', false, '1.0.0']);
    assert.equal(readFileSync(first.file, 'utf8'), readFileSync(r.factory, 'utf8'));
    r.plan();
    assert.equal(r.versionAsked(), 1);
  });

  it('installs into the inactive slot, starts it on trial, and the health check commits it', async () => {
    const r = rig();
    r.plan();
    const bundle = Buffer.from('console.log("agent 1.1.0")\n');
    const u = r.updater('a');
    assert.deepEqual(u.install(job(manifestFor(bundle, '1.1.0')), bundle).phase, 'installing');
    assert.deepEqual(r.state().pending, { slot: 'b', jobId: 'job-1', version: '1.1.0', attempts: 0 });
    assert.equal(r.state().active, 'a', 'the old slot stays the default until the commit');
    const trial = r.plan();
    assert.deepEqual([trial.slot, trial.trial, trial.version], ['b', true, '1.1.0']);
    await r.updater('b').runTrial(healthy);
    const s = r.state();
    assert.equal(s.active, 'b');
    assert.equal(s.previous, 'a');
    assert.equal(s.pending, undefined);
    assert.deepEqual([s.last?.phase, s.last?.running, s.last?.reported], ['committed', '1.1.0', true]);
    assert.deepEqual(
      r.published.map((p) => [p.target, p.phase, p.running]),
      [['$gateway', 'committed', '1.1.0']],
    );
    assert.equal(r.plan().slot, 'b');
  });

  it('a failed health check rolls back to the old slot and restarts; the old agent reports it', async () => {
    const r = rig();
    r.plan();
    const bundle = Buffer.from('console.log("agent 1.1.0")\n');
    r.updater('a').install(job(manifestFor(bundle, '1.1.0')), bundle);
    r.plan();
    await r.updater('b', { trialMs: 1_000 }).runTrial({ north: () => new Promise(() => {}), lan: async () => null });
    assert.equal(r.restarts.length, 1);
    const s = r.state();
    assert.deepEqual([s.active, s.slots.b, s.pending], ['a', null, undefined]);
    assert.equal(s.last?.phase, 'rolledBack');
    assert.match(
      s.last?.detail ?? '',
      /1\.1\.0 failed its health check: not healthy within 1000 ms of starting \(north link not connected\); back on 1\.0\.0/,
    );
    const back = r.plan();
    assert.deepEqual([back.slot, back.trial], ['a', false]);
    r.updater('a').northConnected();
    assert.deepEqual(
      r.published.map((p) => [p.phase, p.running]),
      [['rolledBack', '1.0.0']],
    );
    r.updater('a').northConnected();
    assert.equal(r.published.length, 1, 'reported once per outcome');
    assert.equal(r.updater('a').answerFinished('job-1'), true, 'the retained job coming back is answered again');
    assert.equal(r.published.length, 2);
  });

  it('a bundle that never passes its check is rolled back by the launcher after its starts run out', () => {
    const r = rig();
    r.plan();
    const bundle = Buffer.from('process.exit(1)\n');
    r.updater('a').install(job(manifestFor(bundle, '1.2.0')), bundle);
    assert.equal(r.plan().trial, true);
    assert.equal(r.plan().trial, true);
    const third = r.plan();
    assert.deepEqual([third.slot, third.trial], ['a', false]);
    assert.match(r.state().last?.detail ?? '', /1\.2\.0 did not pass its health check in 2 starts/);
  });

  it('refuses an untrusted key, a bad signature, another family or model, and a downgrade unless forced (audited)', () => {
    const r = rig();
    r.plan();
    const bundle = Buffer.from('x');
    const u = r.updater('a');
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.match(r.updater('a', { trustedKeysPem: [other] }).refusal(job(manifestFor(bundle, '1.1.0'))) ?? '', /is not trusted/);
    const tampered = { ...manifestFor(bundle, '1.1.0'), version: '9.9.9' };
    assert.equal(u.refusal(job(tampered)), 'signature does not match the manifest');
    assert.match(u.refusal(job(manifestFor(bundle, '1.1.0', { family: 'openwrt' }))) ?? '', /family openwrt/);
    assert.equal(u.refusal(job(manifestFor(bundle, '1.1.0', { model: 'openwrt' }))), 'image is for model openwrt, this gateway is debian');
    assert.equal(u.refusal(job(manifestFor(bundle, '0.9.0'))), 'downgrade from 1.0.0 to 0.9.0 refused (not forced)');
    assert.equal(u.refusal(job(manifestFor(bundle, '1.0.0'))), 'already running 1.0.0');
    const forced = u.install(job(manifestFor(bundle, '0.9.0'), 'job-2', { by: 'tess', reason: 'regression in 1.0.0' }), bundle);
    assert.equal(forced.phase, 'installing');
    assert.match(forced.detail, /^forced downgrade by tess: regression in 1\.0\.0/);
    assert.deepEqual(
      r.state().audit.map((a) => [a.from, a.to, a.by]),
      [['1.0.0', '0.9.0', 'tess']],
    );
  });

  it('power lost mid-write of the slot: the old slot boots and nothing is pending', () => {
    const r = rig();
    r.plan();
    const bundle = Buffer.alloc(50_000, 'n');
    const result = r.updater('a', { powerCutAfterBytes: 20_000 }).install(job(manifestFor(bundle, '1.1.0')), bundle);
    assert.equal(result.phase, 'failed');
    const s = r.state();
    assert.deepEqual([s.active, s.slots.b, s.pending], ['a', null, undefined]);
    assert.equal(readFileSync(`${slotFile(r.slotsDir, 'b')}.tmp`).byteLength, 20_000, 'half a bundle on disk, never named in the state');
    const boot = r.plan();
    assert.deepEqual([boot.slot, boot.trial, boot.version], ['a', false, '1.0.0']);
  });

  it('a slot whose file no longer matches its sha256 is not started: the other slot or the packaged bundle is', async () => {
    const r = rig();
    r.plan();
    const bundle = Buffer.from('console.log("agent 1.1.0")\n');
    r.updater('a').install(job(manifestFor(bundle, '1.1.0')), bundle);
    r.plan();
    await r.updater('b').runTrial(healthy);
    assert.equal(r.state().active, 'b');
    writeFileSync(slotFile(r.slotsDir, 'b'), 'corrupted');
    const boot = r.plan();
    assert.deepEqual([boot.slot, boot.version], ['a', '1.0.0']);
    writeFileSync(slotFile(r.slotsDir, 'a'), 'corrupted too');
    const reseeded = r.plan();
    assert.equal(readFileSync(reseeded.file, 'utf8'), readFileSync(r.factory, 'utf8'));
  });

  it('the relay: a refused $gateway job is answered without a byte downloaded; without the launcher it is refused too', () => {
    const r = rig();
    r.plan();
    const bundle = Buffer.from('x');
    const relayStatuses: OtaStatus[] = [];
    const relay = (self?: SelfUpdater) =>
      new OtaRelay({
        dir: join(r.dir, 'ota'),
        now: () => 3000,
        timers: systemTimers,
        log: pino({ level: 'silent' }),
        retryMs: 60_000,
        ...(self ? { self } : {}),
        ports: {
          publishStatus: (s) => {
            relayStatuses.push(s);
            return true;
          },
          sendToDevice: async () => {},
        },
      });
    const withSelf = relay(r.updater('a'));
    withSelf.handleJob(job(manifestFor(bundle, '0.9.0'), 'old'));
    assert.deepEqual(
      r.published.map((p) => [p.jobId, p.phase, p.detail]),
      [['old', 'refused', 'downgrade from 1.0.0 to 0.9.0 refused (not forced)']],
    );
    assert.equal(withSelf.stats().chunkRequests, 0, 'nothing downloaded');
    withSelf.handleJob(job(manifestFor(bundle, '0.9.0'), 'old'));
    assert.equal(r.published.length, 2, 'the retained job coming back is answered again');
    withSelf.stop();
    const without = relay();
    without.handleJob(job(manifestFor(bundle, '1.1.0'), 'new'));
    assert.deepEqual(
      relayStatuses.filter((s) => s.jobId === 'new').map((s) => [s.target, s.phase, s.detail]),
      [['$gateway', 'refused', 'this agent was not started by its launcher (no --slots): it cannot update itself']],
    );
    assert.equal(without.stats().chunkRequests, 0);
    without.stop();
  });
});
