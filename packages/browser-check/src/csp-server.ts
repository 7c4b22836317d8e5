import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';

/**
 * The policy the pages are served with: scripts only from the page's own origin, WebAssembly
 * compilation allowed (`'wasm-unsafe-eval'`, which permits compiling wasm and nothing else: no
 * `eval`, no `new Function`), and everything else — styles, images, fetches, fonts, frames —
 * from the page's origin only.
 */
export const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** A running server of in-memory files. */
export interface PageServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  /** Every path requested, in order. */
  readonly requested: string[];
  /** Every path requested that did not exist (404). */
  readonly missing: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves files from memory on 127.0.0.1 at a free port, each response with the given
 * Content-Security-Policy header (GET and HEAD only; `/` is `index.html`).
 *
 * @param files - path (without the leading `/`) → contents
 * @param policy - the Content-Security-Policy header (default {@link STRICT_CSP})
 */
export async function servePages(files: ReadonlyMap<string, string | Uint8Array>, policy: string = STRICT_CSP): Promise<PageServer> {
  const requested: string[] = [];
  const missing: string[] = [];
  const server: Server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname).replace(/^\//, '');
    if (path === '' || path.endsWith('/')) path += 'index.html';
    requested.push(path);
    const body = files.get(path);
    if (body === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      missing.push(path);
      res.writeHead(404, { 'content-type': 'text/plain', 'content-security-policy': policy }).end('not found');
      return;
    }
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    res.writeHead(200, {
      'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
      'content-length': bytes.length,
      'content-security-policy': policy,
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requested,
    missing,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
