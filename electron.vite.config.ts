import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: { input: { index: resolve(__dirname, 'main/index.ts') } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'preload/index.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    plugins: [vue()],
    resolve: {
      // vtk.js (inside Cornerstone) pulls in xmlbuilder2, which needs these Node modules at definition time.
      alias: {
        events: resolve(__dirname, 'renderer/src/shims/events.ts'),
        url: resolve(__dirname, 'renderer/src/shims/url.ts'),
      },
    },
    worker: { format: 'es' },
    optimizeDeps: { exclude: ['@cornerstonejs/dicom-image-loader'] },
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      chunkSizeWarningLimit: 8000,
      rollupOptions: { input: { index: resolve(__dirname, 'renderer/index.html') } },
    },
  },
});
