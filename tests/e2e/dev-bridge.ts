/**
 * Development helper: start the bridge over the built renderer and print the page URL.
 *   npx tsx tests/e2e/dev-bridge.ts [--allow DIR]...
 * (`npm run dev:web` builds, then runs this.)
 */
import { resolve } from 'node:path';
import { startBridge } from '../../main/app/http-bridge';

const allow: string[] = [];
for (let i = 2; i < process.argv.length; i++) if (process.argv[i] === '--allow') allow.push(resolve(process.argv[++i]));
const bridge = await startBridge({ allow, port: Number(process.env.HALO_PORT ?? 0) });
process.stdout.write(`${bridge.pageUrl}\n`);
process.on('SIGINT', () => void bridge.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void bridge.close().then(() => process.exit(0)));
