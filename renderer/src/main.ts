import { createApp } from 'vue';
import App from './App.vue';
import { installBridgeShim } from './shim';
import './style.css';

async function start(): Promise<void> {
  // Electron's preload provides window.halo; in a plain browser the bridge shim does.
  if (!('halo' in window)) await installBridgeShim();
  createApp(App).mount('#app');
}

void start();
