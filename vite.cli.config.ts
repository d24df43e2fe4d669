/**
 * The `halo` command line, compiled with the app's bundler (vite/rollup) into out/cli/ so that it starts
 * without transpiling TypeScript (bin/halo.mjs runs it; `npm run build:cli`). Dependencies stay in
 * node_modules (an SSR build externalises them); each command's work is a separate chunk loaded when it runs.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  logLevel: 'warn',
  build: {
    ssr: resolve(__dirname, 'main/cli/index.ts'),
    outDir: resolve(__dirname, 'out/cli'),
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    rollupOptions: { output: { format: 'es', entryFileNames: 'halo.mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' } },
  },
});
