import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { originalDestination } from './original-destination.js';

// Accepts one connection from connectHost on a listener bound to listenHost and
// hands the server side to `check`; resolves undefined when the host cannot
// listen on that address (a machine without IPv6 loopback).
async function withAcceptedSocket<T>(
  listenHost: string,
  connectHost: string,
  check: (socket: net.Socket, port: number) => T | Promise<T>,
): Promise<T | undefined> {
  const server = net.createServer();
  try {
    server.listen(0, listenHost);
    await once(server, 'listening');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' || (err as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') {
      return undefined;
    }
    throw err;
  }
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, connectHost);
  const [socket] = await accepted;
  try {
    return await check(socket, port);
  } finally {
    client.destroy();
    socket.destroy();
    server.close();
  }
}

function skipWithoutIPv6(t: TestContext, result: unknown): void {
  if (result === undefined) t.skip('this machine has no IPv6 loopback address');
}

test('a plain IPv4 loopback connection reports the local address, not redirected', async () => {
  await withAcceptedSocket('127.0.0.1', '127.0.0.1', (socket, port) => {
    assert.deepEqual(originalDestination(socket), {
      endpoint: { address: '127.0.0.1', port, family: 4 },
      redirected: false,
    });
  });
});

test('a plain IPv6 loopback connection reports ::1, not redirected', async (t) => {
  const result = await withAcceptedSocket('::1', '::1', (socket, port) => {
    assert.deepEqual(originalDestination(socket), {
      endpoint: { address: '::1', port, family: 6 },
      redirected: false,
    });
    return true;
  });
  skipWithoutIPv6(t, result);
});

test('an IPv4 client on a dual-stack listener is reported as IPv4, not ::ffff:-mapped', async (t) => {
  const result = await withAcceptedSocket('::', '127.0.0.1', (socket, port) => {
    assert.equal(socket.localAddress, '::ffff:127.0.0.1');
    assert.deepEqual(originalDestination(socket), {
      endpoint: { address: '127.0.0.1', port, family: 4 },
      redirected: false,
    });
    return true;
  });
  skipWithoutIPv6(t, result);
});

test('a destroyed socket falls back without throwing', async () => {
  await withAcceptedSocket('127.0.0.1', '127.0.0.1', async (socket) => {
    socket.destroy();
    await once(socket, 'close');
    assert.deepEqual(originalDestination(socket), { endpoint: { address: '', port: 0, family: 4 }, redirected: false });
  });
});

test('a socket that never connected falls back without throwing', () => {
  const socket = new net.Socket();
  assert.deepEqual(originalDestination(socket), { endpoint: { address: '', port: 0, family: 4 }, redirected: false });
  socket.destroy();
});
