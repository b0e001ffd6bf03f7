// The installable agent: scripts/build-agent-deb.sh builds the Debian package (the single-file
// bundle, the systemd unit, an example config, a postinst that creates the poste user); dpkg -i
// installs it into a temporary root; the installed agent — started as the unit's ExecStart says
// (the launcher, which seeds its A/B slots from the packaged bundle), with plain `node` from a
// directory where no node_modules can be found — connects to a test broker and reports online.
//
// Install mode: `dpkg --root=T --force-script-chrootless --force-depends -i`. --root alone would
// chroot(2) into T to run the postinst, and T has no /bin/sh; chrootless runs it on the host with
// DPKG_ROOT=T, which the postinst honours (useradd --prefix T). --force-depends: T has no dpkg
// database of system packages, so the `nodejs` dependency cannot be seen as met there. dpkg needs
// root to install (it chowns files), so this test is skipped for other users.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SlotStateSchema } from '@poste/agent';
import { createBroker, CredentialsStore } from '@poste/broker';
import { GatewayStateSchema, topic } from '@poste/protocol';
import { spawnOwned } from './harness/children';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

describe('installable agent: Debian package into a temporary root', { skip: isRoot ? false : 'dpkg -i needs root' }, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('builds, installs with dpkg, creates the poste user, and the installed agent reports online', async () => {
    const work = await mkdtemp(join(tmpdir(), 'poste-deb-'));
    cleanup.push(() => rm(work, { recursive: true, force: true }));
    const built = await run('sh', [join(ROOT, 'scripts/build-agent-deb.sh'), join(work, 'out')], { cwd: ROOT });
    const deb = built.stdout.trim().split('\n').at(-1)!;
    assert.match(deb, /poste-agent_\d+\.\d+\.\d+_all\.deb$/);

    // A minimal root: an empty dpkg database and the account files a system has.
    const T = join(work, 'root');
    for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'etc']) await mkdir(join(T, d), { recursive: true });
    await writeFile(join(T, 'var/lib/dpkg/status'), '');
    await writeFile(join(T, 'var/lib/dpkg/available'), '');
    await writeFile(join(T, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(join(T, 'etc/group'), 'root:x:0:\n');
    await writeFile(join(T, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
    await writeFile(join(T, 'etc/gshadow'), 'root:*::\n', { mode: 0o640 });
    await run('dpkg', [`--root=${T}`, '--force-script-chrootless', '--force-depends', '-i', deb]);

    const status = await run('dpkg', [`--root=${T}`, '-s', 'poste-agent']);
    assert.match(status.stdout, /Status: install ok installed/);
    const bundle = join(T, 'usr/lib/poste-agent/poste-agent.mjs');
    assert.ok((await stat(bundle)).size > 100_000, 'the bundle carries its dependencies');
    const unit = await readFile(join(T, 'lib/systemd/system/poste-agent.service'), 'utf8');
    assert.ok((await stat(join(T, 'usr/lib/poste-agent/poste-agent-launcher.mjs'))).size > 1_000, 'the launcher is installed');
    assert.match(
      unit,
      /^ExecStart=\/usr\/bin\/node( --\S+)* \/usr\/lib\/poste-agent\/poste-agent-launcher\.mjs --slots \/var\/lib\/poste-agent\/slots --factory \/usr\/lib\/poste-agent\/poste-agent\.mjs -- --config \/etc\/poste\/agent\.json --ota-trust \/etc\/poste\/ota-trust\.pem --ota-model debian$/m,
    );
    assert.match(unit, /^Restart=always$/m, 'an update exits for a restart');
    assert.match(unit, /^User=poste$/m);
    const poste = (await readFile(join(T, 'etc/passwd'), 'utf8')).split('\n').find((l) => l.startsWith('poste:'));
    assert.ok(poste, 'postinst created the poste user in the installed root');
    assert.equal((await stat(join(T, 'var/lib/poste-agent'))).uid, Number(poste.split(':')[2]), 'its state dir belongs to it');
    assert.ok((await readFile(join(T, 'etc/passwd'), 'utf8')).length < 200, 'only the root was touched');

    // The OpenWrt init script is valid sh and starts the same bundle.
    const init = join(ROOT, 'agent/packaging/openwrt/poste-agent.init');
    await run('sh', ['-n', init]);
    assert.match(
      await readFile(init, 'utf8'),
      /procd_set_param command \/usr\/bin\/node( --\S+)* "\$LAUNCHER" --slots "\$SLOTS" --factory "\$PROG" -- --config "\$CONFIG"/,
    );

    // Start the installed agent against a test broker.
    const { store, password } = await CredentialsStore.empty().withGateway('gw-pkg', 'vila');
    const broker = await createBroker({ credentials: store, logLevel: 'silent' });
    cleanup.push(() => broker.close());
    const port = await broker.listen(0, '127.0.0.1');
    const online = new Promise<string>((resolve) => {
      broker.aedes.subscribe(
        topic('gatewayState', { gateway: 'gw-pkg' }),
        (packet, cb) => {
          const s = GatewayStateSchema.safeParse(JSON.parse(packet.payload.toString()));
          if (s.success && s.data.status === 'online') resolve(s.data.agentVersion ?? '');
          cb();
        },
        () => {},
      );
    });
    const example = JSON.parse(await readFile(join(T, 'etc/poste/agent.example.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(
      join(T, 'etc/poste/agent.json'),
      JSON.stringify({
        ...example,
        gatewayId: 'gw-pkg',
        north: { url: `mqtt://127.0.0.1:${port}`, username: 'gw-pkg', password },
        adapters: [{ kind: 'poste', host: '127.0.0.1', port: 0, auth: { mode: 'open' } }],
        dataDir: join(T, 'var/lib/poste-agent'),
      }),
    );
    // The unit's ExecStart with its paths inside T; cwd inside T: no node_modules above it, so only the bundles' own code runs.
    const exec = (unit.match(/^ExecStart=(.+)$/m)?.[1] ?? '').split(' ');
    assert.equal(exec[0], '/usr/bin/node');
    const args = exec.slice(1).map((a) => (/^\/(usr|etc|var)\//.test(a) ? join(T, a) : a));
    const child = spawnOwned(process.execPath, [...args, '--log-level', 'warn'], {
      cwd: T,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`agent not online in 20 s:\n${output}`)), 20_000).unref(),
    );
    await Promise.race([online, timeout]);
    // The launcher seeded slot a from the packaged bundle, with the package's version.
    const state = SlotStateSchema.parse(JSON.parse(await readFile(join(T, 'var/lib/poste-agent/slots/state.json'), 'utf8')));
    const version = deb.match(/poste-agent_(\d+\.\d+\.\d+)_all\.deb$/)?.[1];
    assert.deepEqual([state.active, state.slots.a?.version, state.pending], ['a', version, undefined]);
    assert.equal(
      state.slots.a?.sha256,
      createHash('sha256')
        .update(await readFile(bundle))
        .digest('hex'),
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `stops cleanly on SIGTERM:\n${output}`);

    // And it comes off again.
    await run('dpkg', [`--root=${T}`, '--force-script-chrootless', '-r', 'poste-agent']);
    await assert.rejects(stat(bundle));
  });
});
