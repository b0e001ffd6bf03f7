// A simulated device on a gateway's LAN endpoint that takes OTA updates: it announces itself (birth
// with model and running firmware), listens on its own `dev/{id}/ota` topic, runs each message
// through its OtaDevice in order and answers on `dev/{id}/ota/status`. After a commit or rollback
// it re-announces the firmware it runs. A power cut (PowerCut from its storage) drops the
// connection without a goodbye, like a device losing power.
import { type DeviceKind, type DeviceState, encode, topic } from '@poste/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { OtaDevice } from './ota-device';
import { PowerCut } from './slot-storage';

export interface OtaLanDeviceOptions {
  url: string;
  deviceId: string;
  kind: DeviceKind;
  model: string;
  device: OtaDevice;
  now: () => number;
  username?: string;
  password?: string;
}

/** Messages waiting for the device (it handles one at a time); more are dropped, the agent re-asks. */
const MAX_QUEUED = 64;

export class OtaLanDevice {
  readonly #o: OtaLanDeviceOptions;
  readonly #client: MqttClient;
  readonly #queue: Buffer[] = [];
  #busy = false;
  #seq = 1;
  #powered = true;
  readonly dropped = { queueFull: 0 };

  private constructor(o: OtaLanDeviceOptions, client: MqttClient) {
    this.#o = o;
    this.#client = client;
  }

  static async connect(o: OtaLanDeviceOptions): Promise<OtaLanDevice> {
    const stateTopic = topic('localDeviceState', { device: o.deviceId });
    const client = mqtt.connect(o.url, {
      clientId: o.deviceId,
      reconnectPeriod: 0,
      ...(o.username ? { username: o.username, password: o.password } : {}),
      will: {
        topic: stateTopic,
        payload: encode({ v: 1, kind: o.kind, status: 'offline', seq: 1, ts: o.now(), model: o.model } satisfies DeviceState),
        qos: 1,
        retain: true,
      },
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const d = new OtaLanDevice(o, client);
    client.on('message', (_t, payload) => d.#enqueue(payload));
    await client.subscribeAsync(topic('localOta', { device: o.deviceId }), { qos: 1 });
    await d.#announce();
    return d;
  }

  get powered(): boolean {
    return this.#powered;
  }

  #state(): DeviceState {
    return {
      v: 1,
      kind: this.#o.kind,
      status: 'online',
      seq: this.#seq,
      ts: this.#o.now(),
      model: this.#o.model,
      firmware: this.#o.device.running,
    };
  }

  async #announce(): Promise<void> {
    await this.#client.publishAsync(topic('localDeviceState', { device: this.#o.deviceId }), encode(this.#state()), {
      qos: 1,
      retain: true,
    });
  }

  #enqueue(payload: Buffer): void {
    if (!this.#powered) return;
    if (this.#queue.length >= MAX_QUEUED) {
      this.dropped.queueFull++;
      return;
    }
    this.#queue.push(payload);
    if (!this.#busy) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    while (this.#queue.length > 0 && this.#powered) {
      const payload = this.#queue.shift()!;
      let raw: unknown;
      try {
        raw = JSON.parse(payload.toString('utf8'));
      } catch {
        continue;
      }
      try {
        const statuses = await this.#o.device.handle(raw);
        for (const s of statuses)
          await this.#client.publishAsync(topic('localOtaStatus', { device: this.#o.deviceId }), encode(s), { qos: 1 });
        if (statuses.some((s) => s.phase === 'committed' || s.phase === 'rolledBack')) await this.#announce();
      } catch (err) {
        if (err instanceof PowerCut) {
          this.#powered = false;
          this.#client.end(true);
          break;
        }
        throw err;
      }
    }
    this.#busy = false;
  }

  async close(): Promise<void> {
    this.#powered = false;
    await this.#client.endAsync(true);
  }
}
