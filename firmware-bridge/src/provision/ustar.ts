// A minimal ustar writer: the config bundle goes into an image file as a tar archive, which any
// gateway (busybox tar) and any technician (tar -xf) can read without Poste code.

export interface TarEntry {
  name: string;
  data: Buffer;
  mode: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry, mtimeS: number): Buffer {
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar: name ${entry.name} is longer than 100 bytes`);
  const h = Buffer.alloc(512, 0);
  h.write(entry.name, 0, 100, 'utf8');
  h.write(octal(entry.mode & 0o7777, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii'); // uid
  h.write(octal(0, 8), 116, 8, 'ascii'); // gid
  h.write(octal(entry.data.byteLength, 12), 124, 12, 'ascii');
  h.write(octal(mtimeS, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii'); // checksum field counts as spaces while summing
  h.write('0', 156, 1, 'ascii'); // regular file
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** The archive: a header and the 512-byte padded data per entry, then two zero blocks. */
export function ustar(entries: readonly TarEntry[], mtime: Date): Buffer {
  const mtimeS = Math.floor(mtime.getTime() / 1000);
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e, mtimeS), e.data);
    const pad = (512 - (e.data.byteLength % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}
