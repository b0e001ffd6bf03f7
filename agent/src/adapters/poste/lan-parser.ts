// mqtt-packet's parser, made lighter for a connection held for days. Two of its defaults cost a
// gateway ≈ 1.6 KB per connected device (heap snapshots of the deployed agent, 1,050 devices):
// its byte buffer is a BufferListStream — a full Duplex stream with two stream states and their
// arrays — where only the plain BufferList it wraps is used (append, consume, read, slice); and
// after a CONNECT it keeps the whole CONNECT packet as its settings, the will's payload a view
// into the socket chunk that carried it (≈ 700 bytes of ArrayBuffer per device), only to read
// `protocolVersion` from it later.
import { BufferList } from 'bl';
import mqttPacket, { type IConnectPacket, type Parser } from 'mqtt-packet';

interface ParserInternals {
  _list: unknown;
  settings: unknown;
}

function internals(parser: Parser): ParserInternals {
  const p = parser as unknown as Partial<ParserInternals>;
  // A later mqtt-packet that renamed these would make the swap below silently wrong: refuse at once.
  if (p._list === undefined || typeof (p._list as { append?: unknown }).append !== 'function' || p.settings === undefined) {
    throw new Error('mqtt-packet parser internals changed (_list, settings): review agent/src/adapters/poste/lan-parser.ts');
  }
  if (!Array.isArray((p._list as { _bufs?: unknown })._bufs)) {
    throw new Error('bl BufferList internals changed (_bufs): review agent/src/adapters/poste/lan-parser.ts');
  }
  return p as ParserInternals;
}

/** A parser for MQTT 3.1.1 with a plain BufferList as its buffer. After an error it is not reused: the connection ends. */
export function leanParser(): Parser {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  internals(parser)._list = new BufferList();
  return parser;
}

/**
 * Between packets: when the parser holds no bytes, its BufferList gets a fresh, empty array of
 * buffers. The emptied one keeps the room it grew to (≈ 150 bytes per connection, for nothing,
 * until the next packet). Only the array: a new BufferList per packet took ≈ 120 ms of the agent's
 * CPU over the gateway-latency bench's events without TurboFan (bl's constructor defines a
 * property on each one).
 */
export function releaseEmptyBuffer(parser: Parser): void {
  const list = (parser as unknown as ParserInternals)._list as { length: number; _bufs: Buffer[] };
  if (list.length === 0) list._bufs = [];
}

/** After the CONNECT: keep only what the parser reads from its settings, not the packet. */
export function forgetConnect(parser: Parser, connect: IConnectPacket): void {
  internals(parser).settings = { protocolVersion: connect.protocolVersion };
}
