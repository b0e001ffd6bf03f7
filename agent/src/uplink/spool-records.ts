// One spool record = one northbound item: a one-letter kind tag, then the item as JSON text (the
// northbound shape: a luminaire reading with its group, an AP reading, a device event, a cloud
// ack). The tag is a byte rather than a JSON field so that a batch is assembled by joining the
// records' JSON text, without parsing and re-serialising every reading on the way out.
import type { Ack, ApReading, DeviceEvent, LuminaireReading } from '@poste/protocol';

export type RecordKind = 'luminaire' | 'ap' | 'event' | 'ack';

const TAG: Record<RecordKind, string> = { luminaire: 'L', ap: 'A', event: 'E', ack: 'K' };
const KIND_OF_TAG = new Map<number, RecordKind>(Object.entries(TAG).map(([k, t]) => [t.charCodeAt(0), k as RecordKind]));

export interface RecordValue {
  luminaire: LuminaireReading;
  ap: ApReading;
  event: DeviceEvent;
  ack: Ack;
}

export function encodeRecord<K extends RecordKind>(kind: K, value: RecordValue[K]): Buffer {
  return Buffer.from(TAG[kind] + JSON.stringify(value), 'utf8');
}

/** The kind and the JSON text of a record; null for bytes this agent did not write (never sent on). */
export function decodeRecord(payload: Uint8Array): { kind: RecordKind; json: string } | null {
  const kind = payload.length > 1 ? KIND_OF_TAG.get(payload[0]!) : undefined;
  if (kind === undefined) return null;
  return { kind, json: Buffer.from(payload.buffer, payload.byteOffset + 1, payload.length - 1).toString('utf8') };
}
