import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Whether the module at `moduleUrl` (its `import.meta.url`) is the script node was started with (through a bin symlink too). */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

/**
 * Runs a command's `main` when its module is the entry point and exits with the code it returns;
 * a rejection (a bug: `main` reports expected failures itself) exits 1 with the command's name.
 */
export function runIfEntryPoint(moduleUrl: string, name: string, main: (argv: string[]) => Promise<number>): void {
  if (!isEntryPoint(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: fatal: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
