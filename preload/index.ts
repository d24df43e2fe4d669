/**
 * The renderer's only door to the main process: `window.halo`, one function per handler of the contract plus
 * `on(event, cb)`. Calls go through one IPC channel and come back as an Envelope; failures become a HaloError
 * carrying a message meant for the user.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { buildApi } from './api';

contextBridge.exposeInMainWorld(
  'halo',
  buildApi(
    (name, arg) => ipcRenderer.invoke('halo:call', name, arg),
    (listener) => {
      const wrapped = (_e: unknown, name: string, payload: unknown) => listener(name, payload);
      ipcRenderer.on('halo:event', wrapped);
      return () => ipcRenderer.off('halo:event', wrapped);
    },
  ),
);
