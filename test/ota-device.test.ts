// The device side of OTA (simulators/src/ota) against images signed by firmware-bridge: each
// failure of issue 10 that a device owns — wrong signature, wrong model, downgrade (and a forced
// one, audited), a tampered chunk, power lost mid-write, a failed health check — ends with the old
// slot running and bootable; a good image is committed only after its health check.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateSigningKey, signImage } from '@poste/firmware-bridge';
import { chunkCount, type FirmwareManifest, type LocalOta, type LocalOtaStatus } from '@poste/protocol';
import { OtaDevice, PowerCut, SlotStorage } from '@poste/simulators';

const key = generateSigningKey();
const CHUNK = 1024;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function image(selfTest: 'pass' | 'fail', bytes = 5_000): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify({ selfTest })}\n`), randomBytes(bytes)]);
}
function sign(img: Buffer, version: string, over: Partial<{ model: string; key: string }> = {}): FirmwareManifest {
  return signImage(
    img,
    { family: 'poste-native', model: over.model ?? 'lc-200', version, chunkSize: CHUNK },
    over.key ?? key.privateKeyPem,
  );
}
async function newDevice(
  opts: { powerCutAfterBytes?: number; dir?: string } = {},
): Promise<{ device: OtaDevice; storage: SlotStorage; dir: string }> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'poste-ota-dev-')));
  if (!opts.dir) dirs.push(dir);
  const storage = new SlotStorage({
    dir,
    factoryVersion: '1.0.0',
    ...(opts.powerCutAfterBytes !== undefined ? { powerCutAfterBytes: opts.powerCutAfterBytes } : {}),
  });
  const device = new OtaDevice({
    family: 'poste-native',
    model: 'lc-200',
    trustedKeysPem: [key.publicKeyPem],
    storage,
    now: () => 1_700_000_000_000,
  });
  return { device, storage, dir };
}
const chunkMsg = (jobId: string, img: Buffer, index: number, data?: Buffer): LocalOta => ({
  v: 1,
  type: 'chunk',
  jobId,
  index,
  data: (data ?? img.subarray(index * CHUNK, (index + 1) * CHUNK)).toString('base64'),
});

/** Sends begin then every chunk the device asks for; returns every status. */
async function transfer(
  device: OtaDevice,
  img: Buffer,
  m: FirmwareManifest,
  jobId = 'job-1',
  force?: { by: string; reason: string },
): Promise<LocalOtaStatus[]> {
  const all = await device.handle({ v: 1, type: 'begin', jobId, manifest: m, ...(force ? { force } : {}) });
  let last = all.at(-1)!;
  while (last.phase === 'transferring') {
    const got = await device.handle(chunkMsg(jobId, img, last.next!));
    all.push(...got);
    last = got.at(-1)!;
  }
  return all;
}

describe('OTA device side (A/B slots)', () => {
  it('installs a good image into the inactive slot and commits it after the health check', async () => {
    const { device } = await newDevice();
    const img = image('pass');
    const statuses = await transfer(device, img, sign(img, '1.1.0'));
    assert.deepEqual(
      statuses.slice(-2).map((s) => s.phase),
      ['installing', 'committed'],
    );
    assert.equal(device.running, '1.1.0');
    assert.equal(device.activeSlot, 'B');
    assert.equal(device.bootEnv().slots.A.valid, true, 'the old slot stays bootable');
  });

  it('refuses a wrong signature, an untrusted key and a wrong model before writing a byte', async () => {
    const { device, storage } = await newDevice();
    const img = image('pass');
    const m = sign(img, '1.1.0');
    const forged = { ...m, version: '1.2.0' };
    assert.deepEqual(
      (await device.handle({ v: 1, type: 'begin', jobId: 'j', manifest: forged }))[0]!.detail,
      'signature does not match the manifest',
    );
    const other = generateSigningKey();
    assert.match(
      (await device.handle({ v: 1, type: 'begin', jobId: 'j', manifest: sign(img, '1.1.0', { key: other.privateKeyPem }) }))[0]!.detail!,
      /not trusted/,
    );
    const wrongModel = await device.handle({ v: 1, type: 'begin', jobId: 'j', manifest: sign(img, '1.1.0', { model: 'lc-300' }) });
    assert.equal(wrongModel[0]!.phase, 'refused');
    assert.equal(wrongModel[0]!.detail, 'image is for model lc-300, this device is lc-200');
    assert.equal(storage.readSlot('B', 10).byteLength, 0, 'nothing written');
    assert.equal(device.running, '1.0.0');
  });

  it('refuses a downgrade unless forced; a forced one is installed and audited', async () => {
    const { device } = await newDevice();
    const v2 = image('pass');
    await transfer(device, v2, sign(v2, '2.0.0'));
    const old = image('pass');
    const refused = await transfer(device, old, sign(old, '1.5.0'), 'down-1');
    assert.equal(refused.at(-1)!.phase, 'refused');
    assert.match(refused.at(-1)!.detail!, /downgrade from 2\.0\.0 to 1\.5\.0 refused/);
    const forced = await transfer(device, old, sign(old, '1.5.0'), 'down-2', { by: 'tech-ana', reason: 'lamp flicker in 2.0.0' });
    assert.equal(forced[0]!.detail, 'forced downgrade by tech-ana: lamp flicker in 2.0.0');
    assert.equal(forced.at(-1)!.phase, 'committed');
    assert.equal(device.running, '1.5.0');
    assert.deepEqual(
      device.bootEnv().audit.map((a) => [a.from, a.to, a.by]),
      [['2.0.0', '1.5.0', 'tech-ana']],
    );
  });

  it('a tampered chunk fails the image hash: refused, the new slot is not bootable, the old one runs', async () => {
    const { device } = await newDevice();
    const img = image('pass');
    const m = sign(img, '1.1.0');
    let last = (await device.handle({ v: 1, type: 'begin', jobId: 't', manifest: m }))[0]!;
    while (last.phase === 'transferring') {
      const data = img.subarray(last.next! * CHUNK, (last.next! + 1) * CHUNK);
      const bad = last.next === 2 ? Buffer.from(data.map((b, i) => (i === 7 ? b ^ 0xff : b))) : data;
      last = (await device.handle(chunkMsg('t', img, last.next!, bad))).at(-1)!;
    }
    assert.equal(last.phase, 'refused');
    assert.match(last.detail!, /sha256 does not match/);
    assert.equal(device.bootEnv().slots.B.valid, false);
    assert.equal(device.running, '1.0.0');
  });

  it('power lost mid-write: the old slot boots, and the transfer resumes from the last good chunk', async () => {
    const img = image('pass');
    const m = sign(img, '1.1.0');
    // Power is cut in the middle of the fourth chunk.
    const first = await newDevice({ powerCutAfterBytes: 3 * CHUNK + 100 });
    let last = (await first.device.handle({ v: 1, type: 'begin', jobId: 'p', manifest: m }))[0]!;
    await assert.rejects(async () => {
      while (last.phase === 'transferring') last = (await first.device.handle(chunkMsg('p', img, last.next!))).at(-1)!;
    }, PowerCut);
    // Power back: a new device object boots from what is on flash.
    const rebooted = await newDevice({ dir: first.dir });
    assert.equal(rebooted.device.running, '1.0.0');
    assert.equal(rebooted.device.activeSlot, 'A');
    assert.equal(rebooted.device.bootEnv().slots.A.valid, true);
    assert.equal(rebooted.device.bootEnv().slots.B.valid, false, 'the half-written slot is not bootable');
    const resumed = await rebooted.device.handle({ v: 1, type: 'begin', jobId: 'p', manifest: m });
    assert.deepEqual([resumed[0]!.phase, resumed[0]!.next], ['transferring', 3], 'resumes at the chunk that was cut');
    const rest = await transfer(rebooted.device, img, m, 'p');
    assert.equal(rest.at(-1)!.phase, 'committed');
    assert.equal(rebooted.device.running, '1.1.0');
    assert.equal(chunkCount(m), 5);
  });

  it('a failed health check rolls back to the old slot automatically', async () => {
    const { device, dir } = await newDevice();
    const img = image('fail');
    const statuses = await transfer(device, img, sign(img, '1.1.0'));
    assert.deepEqual(
      statuses.slice(-2).map((s) => s.phase),
      ['installing', 'rolledBack'],
    );
    assert.equal(device.running, '1.0.0');
    assert.equal(device.bootEnv().slots.B.valid, false);
    // And after a power cycle too.
    assert.equal((await newDevice({ dir })).device.running, '1.0.0');
  });
});
