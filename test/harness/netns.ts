// Network namespaces for tests that need real Linux networking (root / CAP_NET_ADMIN). Names carry
// the test's pid so parallel runs never meet; `remove()` deletes everything created.
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { signalGroup, spawnOwned } from './children';

const run = promisify(execFile);

export class NamespaceLab {
  readonly #prefix: string;
  readonly #created: string[] = [];
  readonly #children: ChildProcess[] = [];

  constructor(tag: string) {
    this.#prefix = `poste-${tag}-${process.pid}`;
  }

  name(short: string): string {
    return `${this.#prefix}-${short}`;
  }

  /** Creates a namespace with loopback up. Throws a clear error where the kernel or the user may not. */
  async add(short: string): Promise<string> {
    const ns = this.name(short);
    try {
      await run('ip', ['netns', 'add', ns]);
    } catch (err) {
      throw new Error(
        `this test needs Linux network namespaces (root or CAP_NET_ADMIN, iproute2): \`ip netns add ${ns}\` failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`,
      );
    }
    this.#created.push(ns);
    await this.exec(short, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside a namespace; resolves with stdout, rejects with stderr in the message. */
  async exec(short: string, argv: string[], input?: string): Promise<string> {
    const [cmd, ...args] = ['ip', 'netns', 'exec', this.name(short), ...argv];
    return new Promise((resolve, reject) => {
      const child = execFile(cmd!, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${argv.join(' ')} in ${short}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** A long-running process inside a namespace (a server), killed by remove(). */
  spawn(short: string, argv: string[]): ChildProcess {
    const child = spawnOwned('ip', ['netns', 'exec', this.name(short), ...argv], { stdio: 'ignore' });
    this.#children.push(child);
    return child;
  }

  /** A veth pair between two namespaces, addresses set and links up. */
  async link(a: { ns: string; dev: string; addr: string }, b: { ns: string; dev: string; addr: string }): Promise<void> {
    await run('ip', ['link', 'add', a.dev, 'netns', this.name(a.ns), 'type', 'veth', 'peer', 'name', b.dev, 'netns', this.name(b.ns)]);
    for (const end of [a, b]) {
      await this.exec(end.ns, ['ip', 'addr', 'add', end.addr, 'dev', end.dev]);
      await this.exec(end.ns, ['ip', 'link', 'set', end.dev, 'up']);
    }
  }

  async remove(): Promise<void> {
    for (const c of this.#children) signalGroup(c, 'SIGKILL');
    for (const ns of this.#created.splice(0).reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}
