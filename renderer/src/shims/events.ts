/**
 * Minimal browser stand-in for Node's `events`, only so that vtk.js's XML readers (pulled in by Cornerstone's
 * mesh cache, never used by Halo) can be defined in the renderer bundle.
 */
type Listener = (...args: unknown[]) => void;

export class EventEmitter {
  private listeners = new Map<string | symbol, Listener[]>();
  on(event: string | symbol, l: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), l]);
    return this;
  }
  addListener(event: string | symbol, l: Listener): this {
    return this.on(event, l);
  }
  once(event: string | symbol, l: Listener): this {
    const w: Listener = (...a) => {
      this.off(event, w);
      l(...a);
    };
    return this.on(event, w);
  }
  off(event: string | symbol, l: Listener): this {
    this.listeners.set(event, (this.listeners.get(event) ?? []).filter((x) => x !== l));
    return this;
  }
  removeListener(event: string | symbol, l: Listener): this {
    return this.off(event, l);
  }
  emit(event: string | symbol, ...args: unknown[]): boolean {
    const ls = this.listeners.get(event) ?? [];
    for (const l of ls) l(...args);
    return ls.length > 0;
  }
}

export default EventEmitter;
