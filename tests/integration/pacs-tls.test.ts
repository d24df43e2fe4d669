/**
 * DICOMweb over TLS against a local HTTPS server whose certificates come from its own CA (made by openssl here,
 * as a hospital's would be): an untrusted or wrong-host certificate is named as such, the hospital CA is trusted
 * through NODE_EXTRA_CA_CERTS or a node's own caFile, and credentials over plain http:// to another host are warned
 * about.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halo } from '../support/cli';

const answer = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/dicom+json' });
  res.end('[]');
};

let dir: string;
const servers: Server[] = [];
const urls: Record<'rightHost' | 'wrongHost' | 'plain', string> = { rightHost: '', wrongHost: '', plain: '' };

/** A server certificate for `subjectAltName`, signed by the test CA. */
function serverCertificate(name: string, subjectAltName: string): { key: Buffer; cert: Buffer } {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.pem`)) };
}

async function listen(server: Server, host: string): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'halo-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test Hospital Root CA'], { cwd: dir, stdio: 'pipe' });
  const right = serverCertificate('pacs-right', 'IP:127.0.0.1');
  const wrong = serverCertificate('pacs-wrong', 'DNS:pacs.hospital.example');
  urls.rightHost = `https://127.0.0.1:${await listen(createHttpsServer(right, answer), '127.0.0.1')}/dicom-web`;
  urls.wrongHost = `https://127.0.0.1:${await listen(createHttpsServer(wrong, answer), '127.0.0.1')}/dicom-web`;
  // 0.0.0.0 is not a loopback name: credentials to it count as going to another host.
  urls.plain = `http://radiology:secret@0.0.0.0:${await listen(createHttpServer(answer), '0.0.0.0')}/dicom-web`;
}, 60_000);

afterAll(() => {
  for (const s of servers) s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('DICOMweb over TLS', () => {
  it('says a certificate from an unknown CA is not trusted, and how to trust the hospital CA', async () => {
    const r = await halo(['pacs', 'echo', '--to', urls.rightHost], { NODE_EXTRA_CA_CERTS: '' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/was not trusted .*: its TLS certificate is signed by a CA this computer does not trust/);
    expect(r.stderr).toMatch(/NODE_EXTRA_CA_CERTS=\/path\/to\/hospital-ca\.pem/);
    expect(r.stderr).not.toMatch(/fetch failed/);
  });

  it('trusts the hospital CA given in NODE_EXTRA_CA_CERTS', async () => {
    const r = await halo(['pacs', 'echo', '--to', urls.rightHost], { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') });
    expect(r.code, r.stderr).toBe(0);
  });

  it("trusts a node's own caFile (what the packaged app, which ignores NODE_EXTRA_CA_CERTS, relies on)", async () => {
    const config = join(dir, 'pacs.json');
    const node = (caFile: string) => ({ name: 'hospital', kind: 'dicomweb', url: urls.rightHost, caFile });
    writeFileSync(config, JSON.stringify({ nodes: [node(join(dir, 'ca.pem'))] }));
    const trusted = await halo(['pacs', 'echo', '--to', 'hospital', '--config', config], { NODE_EXTRA_CA_CERTS: '' });
    expect(trusted.code, trusted.stderr).toBe(0);
    // Only that node: the same server given by URL is still not trusted.
    const byUrl = await halo(['pacs', 'echo', '--to', urls.rightHost, '--config', config], { NODE_EXTRA_CA_CERTS: '' });
    expect(byUrl.code).toBe(2);
    writeFileSync(config, JSON.stringify({ nodes: [node(join(dir, 'pacs-right.key'))] }));
    const notCa = await halo(['pacs', 'echo', '--to', 'hospital', '--config', config], { NODE_EXTRA_CA_CERTS: '' });
    expect(notCa.code).toBe(2);
    expect(notCa.stderr).toMatch(/pacs-right\.key, the CA file given for hospital .* holds no PEM certificate/);
  });

  it('names the host a certificate is for when it is not the one in the URL', async () => {
    const r = await halo(['pacs', 'echo', '--to', urls.wrongHost], { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/its TLS certificate is not for this host name \(it is for DNS:pacs\.hospital\.example, the URL names 127\.0\.0\.1\)/);
  });

  it('warns when credentials go over plain http:// to another host, not to loopback', async () => {
    const r = await halo(['pacs', 'echo', '--to', urls.plain]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: the credentials for http:\/\/0\.0\.0\.0:\d+\/dicom-web are sent to 0\.0\.0\.0:\d+ over plain http:\/\//);
    expect(r.stderr).not.toMatch(/secret/);
    const local = await halo(['pacs', 'echo', '--to', urls.plain.replace('0.0.0.0', '127.0.0.1')]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stderr).not.toMatch(/warning/);
  });
});
