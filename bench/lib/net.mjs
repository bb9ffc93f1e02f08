import { createServer } from 'node:net';

/** A port the kernel just handed out on loopback; racy in theory, fine for a benchmark. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
