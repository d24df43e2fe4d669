/**
 * THE handler table: name -> zod schema of the argument + the function. Served by Electron ipcMain.handle
 * (main/index.ts) and by the loopback HTTP bridge (http-bridge.ts); neither has any logic of its own.
 */
import { ZodError } from 'zod';
import { CancelledError, InputError } from '../errors';
import { PacsError } from '../pacs/errors';
import {
  HandlerArgs,
  type Envelope,
  type HaloErrorBody,
  type HandlerName,
  type HandlerResults,
  type ParsedArgOf,
} from './contract';
import { userMessage } from './host';
import type { AppServices } from './services';

type Impl = { [K in HandlerName]: (svc: AppServices, arg: ParsedArgOf<K>) => Promise<HandlerResults[K]> };

export const handlers: Impl = {
  'app.info': (svc) => svc.info(),
  'study.openDemo': (svc) => svc.openDemo(),
  'study.openFolder': (svc, a) => svc.openFolder(a.folder),
  'study.allowedFolders': async (svc) => ({ folders: svc.host.allowedFolders() }),
  'study.setRoles': (svc, a) => svc.setRoles(a.studyId, a.roles),
  'study.volume': (svc, a) => svc.volume(a.studyId, a.role),
  'study.result': async (svc, a) => svc.priorResult(a.studyId, a.sopInstanceUID),
  'study.brain': async (svc, a) => svc.brain(a.studyId),
  'study.thumbnail': async (svc, a) => svc.thumbnail(a.studyId, a.seriesInstanceUID),
  'segment.start': (svc, a) => svc.startSegmentation(a),
  'segment.prepare': (svc, a) => svc.prepareSegmentation(a),
  'segment.cancel': (svc, a) => svc.cancel(a.runId),
  'segment.grow': (svc, a) => svc.growEnsemble(a.runId, a.add, a.focus),
  'segment.slice': async (svc, a) => svc.sliceResult(a.runId, a.k),
  'save.start': (svc, a) => svc.save(a),
  'save.measurements': (svc, a) => svc.saveMeasurements(a),
  'save.retry': (svc, a) => svc.retry(a.jobId, a.itemId),
  'pacs.getSettings': (svc) => svc.pacs.getSettings(),
  'pacs.setSettings': (svc, a) => svc.pacs.setSettings(a),
  'pacs.setCredentials': (svc, a) => svc.pacs.setCredentials(a),
  'pacs.echo': (svc, a) => svc.pacs.echo(a.node),
  'pacs.findStudies': (svc, a) => svc.pacs.findStudies(a),
  'pacs.retrieve': (svc, a) => svc.retrieve(a.node, a.studyInstanceUID),
  'pacs.cancelRetrieve': async (svc) => svc.pacs.cancelRetrieve(),
};

export function isHandlerName(name: unknown): name is HandlerName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(HandlerArgs, name);
}

/** Validate and run one call. Never throws: failures come back as an error envelope with a user message. */
export async function dispatch(svc: AppServices, name: unknown, arg: unknown): Promise<Envelope> {
  if (!isHandlerName(name)) return { ok: false, error: { kind: 'validation', message: `Unknown request "${String(name).slice(0, 64)}".` } };
  const parsed = HandlerArgs[name].safeParse(arg ?? {});
  if (!parsed.success) return { ok: false, error: errorBody(parsed.error) };
  try {
    const fn = handlers[name] as (svc: AppServices, arg: unknown) => Promise<unknown>;
    return { ok: true, value: await fn(svc, parsed.data) };
  } catch (err) {
    const body = errorBody(err);
    if (body.kind === 'internal') console.error(`halo: ${name} failed`, err);
    return { ok: false, error: body };
  }
}

export function errorBody(err: unknown): HaloErrorBody {
  if (err instanceof ZodError) {
    const first = err.issues[0];
    return { kind: 'validation', message: `Invalid request: ${first ? `${first.path.join('.') || 'argument'}: ${first.message}` : 'bad argument'}.` };
  }
  if (err instanceof PacsError) return { kind: 'pacs', message: err.message };
  if (err instanceof InputError) return { kind: 'input', message: err.message };
  if (err instanceof CancelledError) return { kind: 'cancelled', message: userMessage(err) };
  return { kind: 'internal', message: 'Halo hit an internal problem and could not finish this step. The details are in the application log.' };
}
