/**
 * `halo serve`: the viewer in a browser, over the loopback HTTP bridge (development and tests; the desktop app
 * uses Electron IPC). Prints the page URL with its one-time token.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the viewer on 127.0.0.1 for a browser (development/tests); needs `npx electron-vite build` first')
    .option('--port <n>', 'port (default: a random free port)', '0')
    .option('--allow <dir>', 'a folder the page may open studies from / save to (repeatable)', (v, all: string[]) => [...all, v], [])
    .action(async (o: { port: string; allow: string[] }) => {
      const { startBridge } = await import('../../app/http-bridge');
      const bridge = await startBridge({ port: Number(o.port), allow: o.allow.map((p) => resolve(p)) });
      process.stdout.write(`halo: viewer at ${bridge.pageUrl}\n`);
      await new Promise<void>((done) => {
        const stop = () => void bridge.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
