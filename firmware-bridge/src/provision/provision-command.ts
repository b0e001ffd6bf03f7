// provision: registers a gateway with the broker's credentials file and writes its config bundle.
import { chmod, mkdir, open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCredentials, saveCredentials } from '@poste/broker';
import { need, optional, UsageError } from '@poste/cli-kit';
import { GatewayIdSchema, MunicipalityIdSchema } from '@poste/protocol';
import type { Command } from '../cli/command';
import { CliError, EXIT } from '../cli/exit-codes';
import { readJsonFile, readSmallFile } from '../cli/files';
import { parseTrustedKey, TrustedKeyError } from '../image/sign-image';
import { bundleFiles, type ProvisionDevice, ProvisionDeviceListSchema } from './bundle';
import { type TarEntry, ustar } from './ustar';

async function loadDevices(file: string | undefined): Promise<ProvisionDevice[]> {
  if (file === undefined) return [];
  const r = ProvisionDeviceListSchema.safeParse(await readJsonFile(file, 'device list'));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CliError(EXIT.file, `device list ${file}: ${i?.path.join('.') || '(root)'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

async function writeToDirectory(dir: string, files: readonly TarEntry[], force: boolean): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    for (const f of files) {
      const path = join(dir, f.name);
      await writeFile(path, f.data, { mode: f.mode, flag: force ? 'w' : 'wx' });
      await chmod(path, f.mode); // an overwritten file keeps its old mode otherwise
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new CliError(EXIT.exists, `${dir} already holds a bundle (${(err as Error).message}); add --force to replace it`);
    throw new CliError(EXIT.file, `cannot write the bundle to ${dir}: ${(err as Error).message}`);
  }
}

/** Writes the bundle as a tar archive at `offset` of an image file (a config partition); an existing image must have room. */
async function writeToImage(image: string, offset: number, archive: Buffer): Promise<void> {
  let size: number | undefined;
  try {
    size = (await stat(image)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new CliError(EXIT.file, `cannot inspect ${image}: ${(err as Error).message}`);
  }
  if (size !== undefined && size > 0 && size - offset < archive.byteLength) {
    throw new CliError(
      EXIT.target,
      `not enough space: ${image} has ${Math.max(0, size - offset)} bytes from offset ${offset}, the bundle needs ${archive.byteLength}`,
    );
  }
  try {
    const handle = await open(image, size === undefined ? 'w' : 'r+', 0o600);
    try {
      await handle.write(archive, 0, archive.byteLength, offset);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new CliError(EXIT.file, `cannot write the bundle into ${image}: ${(err as Error).message}`);
  }
}

function idFlag(values: Record<string, unknown>, name: string, schema: typeof GatewayIdSchema): string {
  const v = need(values as Record<string, string | undefined>, name);
  const r = schema.safeParse(v);
  if (!r.success) throw new UsageError(`--${name}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return v;
}

/** --ota-trust: one or more ed25519 public keys in PEM, each checked before anything is registered. */
async function loadOtaTrust(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const text = (await readSmallFile(file, 'OTA trust file')).toString('utf8');
  const keys = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (keys.length === 0) throw new CliError(EXIT.file, `OTA trust file ${file} holds no PEM public key (give keygen's PREFIX.pub)`);
  try {
    for (const [i, pem] of keys.entries()) parseTrustedKey(pem, `${file} key #${i + 1}`);
  } catch (err) {
    if (err instanceof TrustedKeyError) throw new CliError(EXIT.file, err.message);
    throw err;
  }
  return `${keys.join('\n')}\n`;
}

export const provisionCommand: Command = {
  name: 'provision',
  summary: "register a gateway with the broker's credentials file and write its config bundle",
  usage: `poste-firmware provision --credentials FILE --id GATEWAY --municipality M --site TEXT --broker-url URL
                         [--ca FILE.pem] [--ota-trust FILE.pem] [--devices FILE.json] (--out-dir DIR | --image FILE [--offset N]) [--force]

Registers the gateway in the broker's credentials file (the file poste-broker serve watches: the
gateway may connect at once) with a generated password, and writes the config bundle:
  agent.json  a poste-agent config (gateway id, broker URL and credentials, LAN adapter)
  site.json   site, municipality, broker URL, devices with their generated LAN credentials
  ca.pem      the broker's CA (with --ca)
  ota-trust.pem  the ed25519 public key(s) trusted to sign updates of the gateway's own agent
              (with --ota-trust, e.g. keygen's PREFIX.pub; the gateway installs it as
              /etc/poste/ota-trust.pem; without it the gateway refuses updates of its agent)
to DIR, or as a tar archive into the image file FILE at byte --offset (default 0; an existing
image must have room, else exit 4). --devices is a JSON array of {id, kind: luminaire|ap, model, group?}.
A gateway id that is already registered is refused (exit 5) unless --force, which gives it a new
password (the old bundle stops working). Nothing is registered when the bundle cannot be written.`,
  options: {
    credentials: { type: 'string' },
    id: { type: 'string' },
    municipality: { type: 'string' },
    site: { type: 'string' },
    'broker-url': { type: 'string' },
    ca: { type: 'string' },
    'ota-trust': { type: 'string' },
    devices: { type: 'string' },
    'out-dir': { type: 'string' },
    image: { type: 'string' },
    offset: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(values, _positionals, { io }) {
    const credentialsFile = need(values, 'credentials');
    const id = idFlag(values, 'id', GatewayIdSchema);
    const municipality = idFlag(values, 'municipality', MunicipalityIdSchema);
    const site = need(values, 'site');
    const brokerUrl = need(values, 'broker-url');
    if (!/^(mqtt|mqtts|ws|wss):\/\//.test(brokerUrl))
      throw new UsageError('--broker-url must start with mqtt://, mqtts://, ws:// or wss://');
    const outDir = optional(values, 'out-dir');
    const image = optional(values, 'image');
    if ((outDir === undefined) === (image === undefined)) throw new UsageError('give exactly one of --out-dir DIR or --image FILE');
    const offsetText = optional(values, 'offset') ?? '0';
    const offset = Number(offsetText);
    if (!Number.isInteger(offset) || offset < 0)
      throw new UsageError(`--offset must be a byte offset ≥ 0, got ${JSON.stringify(offsetText)}`);
    if (offset % 512 !== 0) throw new UsageError('--offset must be a multiple of 512 (a sector)');
    const force = values.force === true;

    let credentials: Awaited<ReturnType<typeof loadCredentials>>;
    try {
      credentials = await loadCredentials(credentialsFile);
    } catch (err) {
      throw new CliError(EXIT.file, (err as Error).message);
    }
    if (credentials.isGateway(id) && !force) {
      throw new CliError(
        EXIT.exists,
        `gateway ${id} is already registered in ${credentialsFile}; add --force to give it a new password (its current bundle stops working)`,
      );
    }
    const caFile = optional(values, 'ca');
    const caPem = caFile === undefined ? undefined : (await readSmallFile(caFile, 'CA certificate')).toString('utf8');
    if (caPem !== undefined && !caPem.includes('-----BEGIN CERTIFICATE-----'))
      throw new CliError(EXIT.file, `CA certificate ${caFile} is not a PEM certificate`);
    const otaTrustPem = await loadOtaTrust(optional(values, 'ota-trust'));
    const devices = await loadDevices(optional(values, 'devices'));
    const registered = await credentials.withGateway(id, municipality).catch((err: Error) => {
      throw new CliError(EXIT.file, `cannot register ${id}: ${err.message}`);
    });
    const files = bundleFiles({
      gatewayId: id,
      site,
      municipality,
      brokerUrl,
      password: registered.password,
      caPem,
      otaTrustPem,
      devices,
      now: new Date(),
    });
    if (outDir !== undefined) await writeToDirectory(outDir, files, force);
    else await writeToImage(image!, offset, ustar(files, new Date()));
    // Registered last: a bundle that could not be written leaves no gateway whose password nobody has.
    try {
      await saveCredentials(credentialsFile, registered.store);
    } catch (err) {
      throw new CliError(
        EXIT.file,
        `bundle written but ${credentialsFile} could not be saved (${(err as Error).message}); run provision again with --force`,
      );
    }
    io.out(`provisioned ${id} (${municipality}, ${devices.length} devices) → ${outDir ?? `${image} @ ${offset}`}`);
    return EXIT.ok;
  },
};
