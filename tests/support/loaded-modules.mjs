// Runs bin/halo.mjs with the given arguments in this process, then prints the CommonJS modules it loaded (one
// path per line, after a marker line): which packages a command pulls in, for the start-up test.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
process.argv.splice(2, process.argv.length, ...args);
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = () => true;
await import(fileURLToPath(new URL('../../bin/halo.mjs', import.meta.url)));
process.stdout.write = write;
write('--- loaded\n' + Object.keys(createRequire(import.meta.url).cache).join('\n') + '\n');
