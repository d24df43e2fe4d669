/** The PACS nodes (settings as the main process shows them, without credentials) and the study search. */
import { reactive } from 'vue';
import type { PacsSettingsView, PacsStudy } from '../../../main/app/contract';
import { busy } from './app';

export const pacsState = reactive({
  pacs: null as PacsSettingsView | null,
});

export async function loadPacs(): Promise<void> {
  const s = await busy('Reading PACS settings', () => window.halo['pacs.getSettings']({}));
  if (s) pacsState.pacs = s;
}

/** Studies found, or null when the search failed (the reason is in appState.error). */
export async function findPacsStudies(node: string, text: string, date: string): Promise<PacsStudy[] | null> {
  const q = text.trim();
  const looksLikeId = /\d/.test(q) && !/\s/.test(q);
  return (
    (await busy('Searching the PACS', () =>
      window.halo['pacs.findStudies']({
        node,
        patientName: q && !looksLikeId ? `*${q}*` : undefined,
        patientId: q && looksLikeId ? `*${q}*` : undefined,
        studyDate: date || undefined,
      }),
    )) ?? null
  );
}
