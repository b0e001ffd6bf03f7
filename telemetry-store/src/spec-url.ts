import { StoreSpecError } from './errors';

/** The URL part of a spec: must parse and be http(s), since every server backend speaks HTTP. */
export function parseHttpUrl(text: string): URL {
  if (text === '') throw new StoreSpecError('missing URL');
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new StoreSpecError(`${JSON.stringify(text)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new StoreSpecError(`URL scheme ${u.protocol} is not http: or https:`);
  return u;
}
