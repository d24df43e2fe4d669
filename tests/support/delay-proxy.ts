/**
 * A TCP proxy on 127.0.0.1 that delays the server's answers: the first `passFirst` chunks from the server go
 * through at once (e.g. the DICOM A-ASSOCIATE-AC), every later one waits `delayMs`. It plays a slow PACS in
 * front of a real one, so "slow" can be told apart from "failed" in tests.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class DelayProxy {
  port = 0;
  private server: Server | undefined;
  private sockets = new Set<Socket>();

  constructor(
    private readonly target: { host: string; port: number },
    private readonly delayMs: number,
    private readonly passFirst = 1,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.target);
      this.sockets.add(client).add(upstream);
      let chunks = 0;
      let chain = Promise.resolve();
      upstream.on('data', (d: Buffer) => {
        const wait = chunks++ < this.passFirst ? 0 : this.delayMs;
        chain = chain.then(() => new Promise<void>((r) => setTimeout(r, wait))).then(() => {
          if (!client.destroyed) client.write(d);
        });
      });
      client.on('data', (d: Buffer) => upstream.write(d));
      const close = () => {
        void chain.then(() => {
          client.destroy();
          upstream.destroy();
        });
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
