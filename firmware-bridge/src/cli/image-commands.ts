// keygen, sign, verify, flash: the commands that make and check signed images and write them to a target.
import { access, writeFile } from 'node:fs/promises';
import { need, optional, UsageError } from '@poste/cli-kit';
import { checkFits, inspectTarget, writeImage } from '../flash/flash-target';
import { type FirmwareManifest, FirmwareFamilySchema, FirmwareManifestSchema } from '../image/manifest';
import { checkDigest, generateSigningKey, parseTrustedKey, signDigest, TrustedKeyError, verifyManifest } from '../image/sign-image';
import type { Command, CommandContext } from './command';
import { CliError, EXIT } from './exit-codes';
import { hashFile, readJsonFile, readSmallFile } from './files';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function writeNew(path: string, data: string, mode: number): Promise<void> {
  try {
    await writeFile(path, data, { mode, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(EXIT.exists, `${path} already exists; keygen never overwrites a key (move it away or choose another --out)`);
    }
    throw new CliError(EXIT.file, `cannot write ${path}: ${(err as Error).message}`);
  }
}

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'make an ed25519 signing key pair (never overwrites)',
  usage: `poste-firmware keygen --out PREFIX

Writes PREFIX.key (private, mode 0600: keep it offline) and PREFIX.pub (give it to devices and
technicians as the trust anchor). Refuses (exit 5) when either file exists: a release key that is
overwritten can never sign for the devices that trust it again.`,
  options: { out: { type: 'string' } },
  async run(values, _p, { io }) {
    const prefix = need(values, 'out');
    const key = generateSigningKey();
    // Both checked before either is written, so a refusal leaves no half pair behind; writeNew's
    // exclusive create still refuses a file that appears in between.
    for (const path of [`${prefix}.key`, `${prefix}.pub`]) {
      if (await exists(path)) {
        throw new CliError(EXIT.exists, `${path} already exists; keygen never overwrites a key (move it away or choose another --out)`);
      }
    }
    await writeNew(`${prefix}.key`, key.privateKeyPem, 0o600);
    await writeNew(`${prefix}.pub`, key.publicKeyPem, 0o644);
    io.out(`key ${key.keyId}: wrote ${prefix}.key and ${prefix}.pub`);
    return EXIT.ok;
  },
};

function parseChunkSize(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 256 || n > 1_048_576)
    throw new UsageError(`--chunk-size must be an integer 256-1048576, got ${JSON.stringify(raw)}`);
  return n;
}

export const signCommand: Command = {
  name: 'sign',
  summary: 'hash and sign an image, writing its manifest',
  usage: `poste-firmware sign IMAGE --key FILE.key --family F --model M --version V [--chunk-size N] [--manifest OUT]

Writes the manifest (version, sha256, size, family, target model, OTA chunk size, key id and the
ed25519 signature) to OUT, default IMAGE.manifest.json.
Families: ${FirmwareFamilySchema.options.join(', ')}. Version: semantic, e.g. 1.4.2.`,
  options: {
    key: { type: 'string' },
    family: { type: 'string' },
    model: { type: 'string' },
    version: { type: 'string' },
    'chunk-size': { type: 'string' },
    manifest: { type: 'string' },
  },
  async run(values, [image], { io, progress }) {
    if (!image) throw new UsageError('sign needs IMAGE');
    const family = FirmwareFamilySchema.safeParse(need(values, 'family'));
    if (!family.success) throw new UsageError(`--family must be one of ${FirmwareFamilySchema.options.join(', ')}`);
    const meta = { family: family.data, model: need(values, 'model'), version: need(values, 'version') };
    for (const field of ['model', 'version'] as const) {
      const r = FirmwareManifestSchema.shape[field].safeParse(meta[field]);
      if (!r.success) throw new UsageError(`--${field}: ${r.error.issues[0]?.message ?? 'invalid'}`);
    }
    const chunkSize = parseChunkSize(optional(values, 'chunk-size'));
    const keyFile = need(values, 'key');
    const keyPem = (await readSmallFile(keyFile, 'signing key')).toString('utf8');
    const digest = await hashFile(image, progress, 'hashing');
    let manifest: FirmwareManifest;
    try {
      manifest = signDigest({ ...meta, ...(chunkSize ? { chunkSize } : {}) }, digest, keyPem);
    } catch (err) {
      throw new CliError(EXIT.file, `signing key ${keyFile} is not usable: ${(err as Error).message}`);
    }
    const out = optional(values, 'manifest') ?? `${image}.manifest.json`;
    try {
      await writeFile(out, `${JSON.stringify(manifest, null, 2)}\n`);
    } catch (err) {
      throw new CliError(EXIT.file, `cannot write manifest ${out}: ${(err as Error).message}`);
    }
    io.out(`signed ${image} (${manifest.size} bytes, sha256 ${manifest.sha256.slice(0, 12)}…, key ${manifest.keyId}) → ${out}`);
    return EXIT.ok;
  },
};

/** Reads --trust files (one or more); a file that is not an ed25519 public key is a file error, not a failed verification. */
async function trustedKeys(values: Record<string, unknown>) {
  const files = values.trust;
  if (!Array.isArray(files) || files.length === 0) throw new UsageError('missing --trust FILE.pub');
  const keys = [];
  for (const file of files as string[]) {
    const pem = (await readSmallFile(file, 'trusted key')).toString('utf8');
    try {
      keys.push(parseTrustedKey(pem, `trusted key ${file}`));
    } catch (err) {
      if (err instanceof TrustedKeyError) throw new CliError(EXIT.file, err.message);
      throw err;
    }
  }
  return keys;
}

/** Manifest signature, then the image's size and hash, streamed. Throws CliError(refused) naming what failed. */
export async function verifyImageFile(image: string, values: Record<string, unknown> & { [k: string]: unknown }, ctx: CommandContext) {
  const keys = await trustedKeys(values);
  const manifestFile = need(values as Record<string, string | undefined>, 'manifest');
  const r = verifyManifest(await readJsonFile(manifestFile, 'manifest'), keys);
  if (!r.ok) throw new CliError(EXIT.refused, `REFUSED: ${r.reason}`);
  const checked = checkDigest(r.manifest, await hashFile(image, ctx.progress, 'verifying'));
  if (!checked.ok) throw new CliError(EXIT.refused, `REFUSED: ${checked.reason}`);
  const family = optional(values as Record<string, string | undefined>, 'family');
  const model = optional(values as Record<string, string | undefined>, 'model');
  if (family !== undefined && family !== r.manifest.family)
    throw new CliError(EXIT.refused, `REFUSED: image is for family ${r.manifest.family}, target is ${family}`);
  if (model !== undefined && model !== r.manifest.model)
    throw new CliError(EXIT.refused, `REFUSED: image is for model ${r.manifest.model}, target is ${model}`);
  return r.manifest;
}

const verifyOptions = {
  manifest: { type: 'string' },
  trust: { type: 'string', multiple: true },
  family: { type: 'string' },
  model: { type: 'string' },
} as const;

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check an image against its manifest and trusted keys',
  usage: `poste-firmware verify IMAGE --manifest FILE --trust FILE.pub [--trust …] [--family F] [--model M]

Checks the manifest's shape, that its key is trusted, the signature, the size and the sha256 of the
image; with --family/--model also that the image is meant for that target. Exit 1 names the check
that failed; a --trust file that is not an ed25519 public key is exit 3.`,
  options: verifyOptions,
  async run(values, [image], ctx) {
    if (!image) throw new UsageError('verify needs IMAGE');
    const m = await verifyImageFile(image, values, ctx);
    ctx.io.out(`OK: ${m.family} ${m.model} ${m.version}, ${m.size} bytes, signed by ${m.keyId}`);
    return EXIT.ok;
  },
};

export const flashCommand: Command = {
  name: 'flash',
  summary: 'verify an image, write it to a block device or disk image, read it back',
  usage: `poste-firmware flash IMAGE --manifest FILE --trust FILE.pub --target PATH [--create] [--family F] [--model M]

1. verifies the image (as verify) — a tampered image leaves the target untouched (exit 1);
2. checks the target: a block device (its size from sysfs) or a disk image file (its size; with
   --create a new file) — a missing or wrong target or one too small is exit 4;
3. writes the image at the start of the target and fsyncs;
4. reads the target back and compares the sha256: exit 0 only when it matches (else exit 1).`,
  options: { ...verifyOptions, target: { type: 'string' }, create: { type: 'boolean' } },
  async run(values, [image], ctx) {
    if (!image) throw new UsageError('flash needs IMAGE');
    const targetPath = need(values, 'target');
    const manifest = await verifyImageFile(image, values, ctx);
    const target = await inspectTarget(targetPath, values.create === true, manifest.size);
    checkFits(target, manifest.size);
    const written = await writeImage(image, target, ctx.progress);
    if (written !== manifest.sha256) {
      throw new CliError(
        EXIT.refused,
        `image ${image} changed while it was written (sha256 ${written}); the target holds that copy, flash again`,
      );
    }
    const back = await hashFile(targetPath, ctx.progress, 'reading back', manifest.size);
    if (back.sha256 !== manifest.sha256 || back.size !== manifest.size) {
      throw new CliError(
        EXIT.refused,
        `read-back mismatch: ${targetPath} holds sha256 ${back.sha256} over ${back.size} bytes, expected ${manifest.sha256}`,
      );
    }
    ctx.io.out(
      `flashed ${manifest.family} ${manifest.model} ${manifest.version} to ${targetPath} (${target.kind}, ${manifest.size} of ${target.capacity} bytes); read-back sha256 matches`,
    );
    return EXIT.ok;
  },
};
