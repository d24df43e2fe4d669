import type { HaloApi } from '../../main/app/contract';

declare global {
  interface Window {
    halo: HaloApi;
  }
}
