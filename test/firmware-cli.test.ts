// poste-firmware as a technician runs it (the real entry point through tsx): every failure of
// issue 10 that the CLI owns has its exit code and leaves nothing half done — an existing key is
// not overwritten, a tampered image never reaches the target, a target too small is refused before
// writing, an existing gateway id is not re-registered; a provisioned gateway's bundle starts an
// agent that `check` then sees healthy (and unhealthy once it stops).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startAgent } from '@poste/agent';
import { addService, createBroker, loadCredentials, type PosteBroker } from '@poste/broker';
import { main } from '@poste/firmware-bridge/cli';

const root = fileURLToPath(new URL('..', import.meta.url));
const execFileP = promisify(execFile);

/** Runs poste-firmware in this process (as the entry point does); never rejects on a non-zero exit. */
async function firmware(
  args: string[],
  env: { brokerPassword?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string; bars: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const bars: string[] = [];
  const progress = {
    start: (label: string) => {
      bars.push(label);
      return { advance: () => {}, done: () => {} };
    },
  };
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, { progress, env });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), bars };
}

/** The built entry point's way in: node + tsx on firmware-bridge/src/cli.ts, as the README shows. */
async function firmwareProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, ['--conditions=source', '--import', 'tsx', 'firmware-bridge/src/cli.ts', ...args], {
      cwd: root,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('poste-firmware', () => {
  let dir: string;
  let image: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-firmware-'));
    image = randomBytes(200_000);
    await writeFile(join(dir, 'lc.bin'), image);
    const k = await firmware(['keygen', '--out', join(dir, 'release')]);
    assert.equal(k.code, 0, k.stderr);
    const s = await firmware([
      'sign',
      join(dir, 'lc.bin'),
      '--key',
      join(dir, 'release.key'),
      '--family',
      'poste-native',
      '--model',
      'lc-200',
      '--version',
      '1.4.2',
    ]);
    assert.equal(s.code, 0, s.stderr);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('keygen refuses to overwrite an existing key (exit 5) and leaves it as it was (the real entry point)', async () => {
    const before = await readFile(join(dir, 'release.key'));
    const r = await firmwareProcess(['keygen', '--out', join(dir, 'release')]);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /release\.key already exists; keygen never overwrites/);
    assert.deepEqual(await readFile(join(dir, 'release.key')), before);
  });

  it('sign: a manifest that cannot be written is a file error (exit 3), not a usage error', async () => {
    const r = await firmware([
      'sign',
      join(dir, 'lc.bin'),
      '--key',
      join(dir, 'release.key'),
      '--family',
      'poste-native',
      '--model',
      'lc-200',
      '--version',
      '1.4.2',
      '--manifest',
      join(dir, 'no-such-dir', 'm.json'),
    ]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /cannot write manifest/);
  });

  it('verify: a malformed --trust key is a file error (exit 3) naming the file, a wrong key is refused (exit 1)', async () => {
    await writeFile(join(dir, 'garbage.pub'), 'not a key\n');
    const bad = await firmware([
      'verify',
      join(dir, 'lc.bin'),
      '--manifest',
      join(dir, 'lc.bin.manifest.json'),
      '--trust',
      join(dir, 'garbage.pub'),
    ]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /garbage\.pub: not a PEM public key/);
    const other = await firmware(['keygen', '--out', join(dir, 'other')]);
    assert.equal(other.code, 0);
    const wrong = await firmware([
      'verify',
      join(dir, 'lc.bin'),
      '--manifest',
      join(dir, 'lc.bin.manifest.json'),
      '--trust',
      join(dir, 'other.pub'),
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /REFUSED: signing key [0-9a-f]{16} is not trusted/);
  });

  it('verify --model: an image for another model is refused (exit 1)', async () => {
    const r = await firmware([
      'verify',
      join(dir, 'lc.bin'),
      '--manifest',
      join(dir, 'lc.bin.manifest.json'),
      '--trust',
      join(dir, 'release.pub'),
      '--model',
      'lc-300',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /image is for model lc-200, target is lc-300/);
  });

  it('flash: a tampered image leaves the target untouched (exit 1); a good one is written and read back (exit 0)', async () => {
    const tampered = Buffer.from(image);
    tampered[99_999] = tampered[99_999]! ^ 0x01;
    await writeFile(join(dir, 'tampered.bin'), tampered);
    const target = join(dir, 'sd.img');
    const blank = Buffer.alloc(512 * 1024, 0xff);
    await writeFile(target, blank);
    const manifest = join(dir, 'lc.bin.manifest.json');
    const refused = await firmware([
      'flash',
      join(dir, 'tampered.bin'),
      '--manifest',
      manifest,
      '--trust',
      join(dir, 'release.pub'),
      '--target',
      target,
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /REFUSED: image sha256 does not match the manifest/);
    assert.equal(sha(await readFile(target)), sha(blank), 'target untouched');

    const ok = await firmware([
      'flash',
      join(dir, 'lc.bin'),
      '--manifest',
      manifest,
      '--trust',
      join(dir, 'release.pub'),
      '--target',
      target,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /read-back sha256 matches/);
    assert.deepEqual(ok.bars, ['verifying', 'writing', 'reading back'], 'a progress bar on every long step');
    const written = await readFile(target);
    assert.equal(written.byteLength, blank.byteLength, 'a disk image keeps its size');
    assert.equal(sha(written.subarray(0, image.byteLength)), sha(image));
  });

  it('flash: a target too small is refused before anything is written (exit 4); a missing target too', async () => {
    const small = join(dir, 'small.img');
    await writeFile(small, Buffer.alloc(4096, 0xaa));
    const manifest = join(dir, 'lc.bin.manifest.json');
    const r = await firmware([
      'flash',
      join(dir, 'lc.bin'),
      '--manifest',
      manifest,
      '--trust',
      join(dir, 'release.pub'),
      '--target',
      small,
    ]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /not enough space: target .*small\.img holds 4096 bytes, the image needs 200000/);
    assert.deepEqual(await readFile(small), Buffer.alloc(4096, 0xaa));
    const missing = await firmware([
      'flash',
      join(dir, 'lc.bin'),
      '--manifest',
      manifest,
      '--trust',
      join(dir, 'release.pub'),
      '--target',
      join(dir, 'nope.img'),
    ]);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /does not exist/);
    const directory = await firmware([
      'flash',
      join(dir, 'lc.bin'),
      '--manifest',
      manifest,
      '--trust',
      join(dir, 'release.pub'),
      '--target',
      dir,
    ]);
    assert.equal(directory.code, 4);
    assert.match(directory.stderr, /is a directory/);
  });

  it('--help on every command exits 0; no command exits 2', async () => {
    for (const c of ['keygen', 'sign', 'verify', 'flash', 'provision', 'check', 'verify-gateway']) {
      const r = await firmware([c, '--help']);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, new RegExp(`poste-firmware ${c === 'verify-gateway' ? 'check' : c}`));
    }
    assert.equal((await firmwareProcess([])).code, 2);
  });
});

describe('poste-firmware provision and check', () => {
  let dir: string;
  let broker: PosteBroker;
  let port: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-provision-'));
  });
  after(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a gateway, writes its bundle, refuses the same id again (exit 5) unless --force; the bundle starts an agent that check sees healthy', async () => {
    const credentials = join(dir, 'credentials.json');
    const devices = join(dir, 'devices.json');
    await writeFile(
      devices,
      JSON.stringify([
        { id: 'lum-1', kind: 'luminaire', model: 'lc-200', group: 'rua-a' },
        { id: 'ap-1', kind: 'ap', model: 'wr-3000' },
      ]),
    );
    const bundle = join(dir, 'bundle');
    const args = [
      'provision',
      '--credentials',
      credentials,
      '--id',
      'sp-gw7',
      '--municipality',
      'sao-paulo',
      '--site',
      'Rua Augusta cabinet 3',
      '--broker-url',
      'mqtt://127.0.0.1:1',
      '--devices',
      devices,
    ];
    const first = await firmware([...args, '--out-dir', bundle]);
    assert.equal(first.code, 0, first.stderr);
    const site = JSON.parse(await readFile(join(bundle, 'site.json'), 'utf8')) as {
      municipality: string;
      site: string;
      devices: { id: string; lan: { password: string } }[];
    };
    assert.equal(site.municipality, 'sao-paulo');
    assert.equal(site.site, 'Rua Augusta cabinet 3');
    assert.deepEqual(
      site.devices.map((d) => d.id),
      ['lum-1', 'ap-1'],
    );
    assert.ok(
      site.devices.every((d) => d.lan.password.length >= 20),
      'each device gets LAN credentials',
    );
    assert.equal((await stat(join(bundle, 'agent.json'))).mode & 0o777, 0o600, 'secrets are owner-only');
    const credsBefore = await readFile(credentials, 'utf8');

    const again = await firmware([...args, '--out-dir', join(dir, 'bundle2')]);
    assert.equal(again.code, 5);
    assert.match(again.stderr, /gateway sp-gw7 is already registered/);
    assert.equal(await readFile(credentials, 'utf8'), credsBefore, 'credentials unchanged');

    // Into an image file: a tar archive at a sector offset that busybox/GNU tar reads.
    const img = join(dir, 'gw.img');
    await writeFile(img, Buffer.alloc(256 * 1024));
    // The key the gateway will trust for updates of its own agent: a file that is no key is refused
    // before anything is registered or written.
    const notAKey = join(dir, 'not-a-key.pem');
    await writeFile(notAKey, 'hello\n');
    const badTrust = await firmware([...args, '--image', img, '--offset', '131072', '--force', '--ota-trust', notAKey]);
    assert.equal(badTrust.code, 3);
    assert.match(badTrust.stderr, /not-a-key\.pem holds no PEM public key/);
    assert.equal(await readFile(credentials, 'utf8'), credsBefore, 'nothing registered');
    assert.equal((await firmware(['keygen', '--out', join(dir, 'release')])).code, 0);
    const forced = await firmware([...args, '--image', img, '--offset', '131072', '--force', '--ota-trust', join(dir, 'release.pub')]);
    assert.equal(forced.code, 0, forced.stderr);
    const part = join(dir, 'part.tar');
    await writeFile(part, (await readFile(img)).subarray(131_072));
    const listing = await execFileP('tar', ['-tf', part]);
    assert.deepEqual(listing.stdout.trim().split('\n'), ['agent.json', 'site.json', 'ota-trust.pem']);
    const trusted = await execFileP('tar', ['-xOf', part, 'ota-trust.pem']);
    assert.equal(trusted.stdout.trim(), (await readFile(join(dir, 'release.pub'), 'utf8')).trim());
    assert.notEqual(await readFile(credentials, 'utf8'), credsBefore, '--force re-keyed the gateway');

    // The re-keyed bundle is the one that works: start a broker and an agent from it.
    const out = join(dir, 'extracted');
    await mkdir(out);
    await execFileP('tar', ['-xf', part, '-C', out]);
    const servicePassword = await addService(credentials, 'technician');
    broker = await createBroker({ credentials: await loadCredentials(credentials), logLevel: 'silent' });
    port = await broker.listen(0, '127.0.0.1');
    const agentConfig = JSON.parse(await readFile(join(out, 'agent.json'), 'utf8')) as { north: { url: string; password: string } };
    // The bundle's north section (its credentials) as provisioned; the LAN side on a free port here.
    const agent = await startAgent({
      gatewayId: 'sp-gw7',
      north: { ...agentConfig.north, url: `mqtt://127.0.0.1:${port}` },
      local: { host: '127.0.0.1', port: 0 },
      dataDir: join(dir, 'agent-data'),
      logLevel: 'silent',
    });
    await writeFile(join(dir, 'tech.pw'), `${servicePassword}\n`);
    const checkArgs = [
      'check',
      '--broker',
      `mqtt://127.0.0.1:${port}`,
      '--username',
      'technician',
      '--password-file',
      join(dir, 'tech.pw'),
      '--gateway',
      'sp-gw7',
      '--timeout',
      '10',
    ];
    try {
      const healthy = await firmware(checkArgs);
      assert.equal(healthy.code, 0, healthy.stderr);
      assert.match(healthy.stdout, /HEALTHY: sp-gw7 online/);
      const tooFew = await firmware([...checkArgs.slice(0, -2), '--timeout', '1', '--min-devices', '1']);
      assert.equal(tooFew.code, 1);
      assert.match(tooFew.stderr, /NOT HEALTHY: 0 devices online, expected at least 1/);
    } finally {
      await agent.stop();
    }
    const offline = await firmware([...checkArgs.slice(0, -2), '--timeout', '1']);
    assert.equal(offline.code, 1);
    assert.match(offline.stderr, /NOT HEALTHY: sp-gw7 is offline/);
    await writeFile(join(dir, 'wrong.pw'), 'nope\n');
    const refused = await firmware([...checkArgs.slice(0, 6), join(dir, 'wrong.pw'), ...checkArgs.slice(7)]);
    assert.equal(refused.code, 6);
    assert.match(refused.stderr, /broker unreachable/);
  });
});
