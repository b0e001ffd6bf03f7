// Tasmota's FullTopic (docs: MQTT.md, "FullTopic"): a template with %prefix% (cmnd/stat/tele, or
// what Prefix1/2/3 say) and %topic% (the device's Topic), followed by the command or message name,
// e.g. `%prefix%/%topic%/` + `SENSOR` = `tele/lamp-12/SENSOR`. This module builds and parses
// those topics for one configured template.

export type TasmotaPrefix = 'cmnd' | 'stat' | 'tele';

export interface ParsedTasmotaTopic {
  prefix: TasmotaPrefix;
  topic: string;
  /** The last level: SENSOR, STATE, LWT, RESULT, POWER… */
  name: string;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class FullTopic {
  readonly #template: string;
  readonly #prefixes: Record<TasmotaPrefix, string>;
  readonly #pattern: RegExp;
  readonly #prefixOrder: ('prefix' | 'topic')[];

  constructor(template: string, prefixes: Record<TasmotaPrefix, string>) {
    // Tasmota appends the name after the template; a template without a trailing / gets one.
    this.#template = template.endsWith('/') ? template : `${template}/`;
    this.#prefixes = prefixes;
    const order: ('prefix' | 'topic')[] = [];
    const source = this.#template
      .split(/(%prefix%|%topic%)/)
      .map((part) => {
        if (part === '%prefix%') {
          order.push('prefix');
          return '([^/]+)';
        }
        if (part === '%topic%') {
          order.push('topic');
          return '([^/]+)';
        }
        return escapeRegex(part);
      })
      .join('');
    this.#pattern = new RegExp(`^${source}([^/]+)$`);
    this.#prefixOrder = order;
  }

  /** `cmnd/lamp-12/Dimmer` for build('cmnd', 'lamp-12', 'Dimmer'). */
  build(prefix: TasmotaPrefix, topic: string, name: string): string {
    return `${this.#template.replaceAll('%prefix%', this.#prefixes[prefix]).replaceAll('%topic%', topic)}${name}`;
  }

  /** The MQTT subscription for every device's messages under one prefix (`tele/+/+`). */
  subscription(prefix: TasmotaPrefix): string {
    return `${this.#template.replaceAll('%prefix%', this.#prefixes[prefix]).replaceAll('%topic%', '+')}+`;
  }

  /** Null for a topic outside the template or with a prefix that is none of the three. */
  parse(mqttTopic: string): ParsedTasmotaTopic | null {
    const m = this.#pattern.exec(mqttTopic);
    if (m === null) return null;
    let prefixText = '';
    let topic = '';
    this.#prefixOrder.forEach((what, i) => {
      const value = m[i + 1] ?? '';
      if (what === 'prefix') prefixText = value;
      else topic = value;
    });
    const prefix = (Object.keys(this.#prefixes) as TasmotaPrefix[]).find((p) => this.#prefixes[p] === prefixText);
    if (prefix === undefined) return null;
    return { prefix, topic, name: m[this.#prefixOrder.length + 1] ?? '' };
  }
}
