#!/usr/bin/env node
// poste-firmware: technician CLI for signed firmware images. Exit codes: 0 ok, 1 verification
// failed, 2 usage error, 3 I/O error.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FirmwareFamilySchema } from './image/manifest';
import { generateSigningKey, signImage, verifyImage } from './image/sign-image';

const HELP = `poste-firmware — sign and verify Poste firmware images (ed25519)

Usage:
  poste-firmware keygen --out PREFIX             writes PREFIX.key (private, keep offline) and PREFIX.pub
  poste-firmware sign IMAGE --key FILE.key --family F --model M --version V [--chunk-size N]
                                                 writes IMAGE.manifest.json
  poste-firmware verify IMAGE --manifest FILE --trust FILE.pub [--trust ...]

Families: ${FirmwareFamilySchema.options.join(', ')}
Exit codes: 0 ok · 1 verification failed · 2 usage error · 3 file error`;

function fail(code: number, message: string): never {
  process.stderr.write(`poste-firmware: ${message}\n`);
  process.exit(code);
}

function read(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    return fail(3, `cannot read ${path}: ${(err as Error).message}`);
  }
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        out: { type: 'string' },
        key: { type: 'string' },
        family: { type: 'string' },
        model: { type: 'string' },
        version: { type: 'string' },
        'chunk-size': { type: 'string' },
        manifest: { type: 'string' },
        trust: { type: 'string', multiple: true },
      },
    });
  } catch (err) {
    return fail(2, `${(err as Error).message}\n\n${HELP}`);
  }
}

function main(argv: string[]): void {
  const { values, positionals } = parseCommandLine(argv);
  const [command, image] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    process.exit(command || values.help ? 0 : 2);
  }
  if (command === 'keygen') {
    if (!values.out) fail(2, 'keygen needs --out PREFIX');
    const key = generateSigningKey();
    writeFileSync(`${values.out}.key`, key.privateKeyPem, { mode: 0o600 });
    writeFileSync(`${values.out}.pub`, key.publicKeyPem);
    process.stdout.write(`key ${key.keyId}: wrote ${values.out}.key and ${values.out}.pub\n`);
    return;
  }
  if (command === 'sign') {
    if (!image || !values.key || !values.family || !values.model || !values.version) {
      fail(2, 'sign needs IMAGE --key --family --model --version');
    }
    const family = FirmwareFamilySchema.safeParse(values.family);
    if (!family.success) fail(2, `--family must be one of ${FirmwareFamilySchema.options.join(', ')}`);
    const chunkSize = values['chunk-size'] ? Number(values['chunk-size']) : undefined;
    try {
      const manifest = signImage(
        read(image),
        { family: family.data, model: values.model, version: values.version, chunkSize },
        read(values.key).toString(),
      );
      writeFileSync(`${image}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
      process.stdout.write(`signed ${image} (${manifest.size} bytes, sha256 ${manifest.sha256.slice(0, 12)}…) → ${image}.manifest.json\n`);
    } catch (err) {
      fail(2, (err as Error).message);
    }
    return;
  }
  if (command === 'verify') {
    if (!image || !values.manifest || !values.trust?.length) fail(2, 'verify needs IMAGE --manifest --trust');
    let manifest: unknown;
    try {
      manifest = JSON.parse(read(values.manifest).toString());
    } catch (err) {
      fail(1, `manifest is not JSON: ${(err as Error).message}`);
    }
    const r = verifyImage(
      read(image),
      manifest,
      values.trust.map((p) => read(p).toString()),
    );
    if (!r.ok) fail(1, `REFUSED: ${r.reason}`);
    process.stdout.write(`OK: ${r.manifest.family} ${r.manifest.model} ${r.manifest.version}, signed by ${r.manifest.keyId}\n`);
    return;
  }
  fail(2, `unknown command ${command}\n\n${HELP}`);
}

main(process.argv.slice(2));
