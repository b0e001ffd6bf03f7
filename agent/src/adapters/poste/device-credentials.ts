// Per-device LAN credentials, provisioned with the gateway as a JSON file:
//   { "version": 1, "devices": [ { "id": "lum-0001", "secretHash": "sha256$<salt>$<digest>" } ] }
// A device logs in with username = client id = its device id and its secret as the password.
//
// Why salted SHA-256 and not scrypt (which the cloud broker uses for gateway passwords): device
// secrets are never chosen by people — provisioning generates 128 random bits each
// (generateDeviceSecret), which no dictionary or brute force reaches, so a slow hash buys nothing
// and would cost the gateway dearly: after a power cut every device of the street logs in within
// the same second (5,000 scrypt checks at ~50 ms each are four minutes of CPU on a gateway).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { DeviceIdSchema, formatPayloadError, parseJson, toPayloadError, type PayloadError } from '@poste/protocol';

const SALT_BYTES = 16;
const HASH_PATTERN = /^sha256\$[A-Za-z0-9+/]{22}(==)?\$[A-Za-z0-9+/]{43}=$/;

/** The smallest secret hashDeviceSecret accepts: 16 characters of base64url already carry 96 random bits. */
export const MIN_SECRET_LENGTH = 16;

export const DeviceCredentialsFileSchema = z
  .object({
    version: z.literal(1).describe('format version of this file'),
    devices: z
      .array(
        z
          .object({
            id: DeviceIdSchema.describe('device id: its MQTT client id and username'),
            secretHash: z
              .string()
              .regex(HASH_PATTERN, 'expected sha256$<salt base64>$<digest base64> as made by hashDeviceSecret')
              .describe('salted SHA-256 of the device secret'),
          })
          .strict(),
      )
      .max(100_000)
      .superRefine((devices, ctx) => {
        const seen = new Map<string, number>();
        devices.forEach((d, i) => {
          const first = seen.get(d.id);
          if (first !== undefined)
            ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate of devices[${first}].id (${d.id})` });
          else seen.set(d.id, i);
        });
      }),
  })
  .strict();

export type DeviceCredentialsFile = z.output<typeof DeviceCredentialsFileSchema>;

/** A fresh random device secret (128 bits, base64url): what provisioning writes into the device. */
export function generateDeviceSecret(): string {
  return randomBytes(16).toString('base64url');
}

/** The `secretHash` for a credentials file entry. */
export function hashDeviceSecret(secret: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(`device secret: at least ${MIN_SECRET_LENGTH} characters (use generateDeviceSecret)`);
  return `sha256$${salt.toString('base64')}$${digest(salt, Buffer.from(secret, 'utf8')).toString('base64')}`;
}

function digest(salt: Buffer, secret: Buffer): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

/** Parses a credentials file's text; errors name the path in the file and the reason. */
export function parseDeviceCredentials(text: string | Buffer): { ok: true; value: DeviceCredentials } | { ok: false; error: PayloadError } {
  const json = parseJson(text);
  if (!json.ok) return json;
  const r = DeviceCredentialsFileSchema.safeParse(json.value);
  if (!r.success) return { ok: false, error: toPayloadError(r.error) };
  return { ok: true, value: new DeviceCredentials(r.data) };
}

/** Reads and parses the file; throws an Error naming the file, the path and the reason. */
export async function loadDeviceCredentials(file: string): Promise<DeviceCredentials> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (err) {
    throw new Error(`device credentials ${file}: cannot read: ${(err as Error).message}`);
  }
  const r = parseDeviceCredentials(text);
  if (!r.ok) throw new Error(`device credentials ${file}: ${formatPayloadError(r.error)}`);
  return r.value;
}

/** The provisioned devices, checked in constant time per login. */
export class DeviceCredentials {
  readonly #byId = new Map<string, { salt: Buffer; digest: Buffer }>();

  constructor(file: DeviceCredentialsFile) {
    for (const d of file.devices) {
      const [, salt, hash] = d.secretHash.split('$') as [string, string, string];
      this.#byId.set(d.id, { salt: Buffer.from(salt, 'base64'), digest: Buffer.from(hash, 'base64') });
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** True when `secret` is the provisioned secret of device `id`. */
  verify(id: string, secret: Buffer): boolean {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    return timingSafeEqual(digest(entry.salt, secret), entry.digest);
  }
}
