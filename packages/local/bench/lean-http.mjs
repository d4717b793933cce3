// The benchmark's leanest HTTP/1.1 client and server: they do no more per byte than the file copy they are
// compared with, so a transfer between them shows what loopback TCP itself costs on the machine, and a
// transfer between the lean client and a real server shows that server's share. Each side moves the body
// through a few reused 1 MiB buffers with synchronous file reads and writes, as the copy does; the only
// parsing is of the request and status lines and Content-Length. Not a general HTTP implementation: one
// request per connection, no chunked bodies, no keep-alive.
import { closeSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';

const CHUNK = 1 << 20;
const HEAD_END = Buffer.from('\r\n\r\n');

/** Parses a response or request head; `null` until the whole head is in `bytes`. */
function parseHead(bytes) {
  const end = bytes.indexOf(HEAD_END);
  if (end < 0) return null;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { first: lines[0], headers, bodyStart: end + HEAD_END.length };
}

const headText = (first, headers) =>
  `${first}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

/**
 * Writes the file at `file` to `socket` through four reused buffers; a buffer is refilled only once the
 * socket has taken its bytes. Resolves when the last byte is handed over.
 */
function sendFile(socket, file) {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  const free = Array.from({ length: 4 }, () => Buffer.allocUnsafeSlow(CHUNK));
  let position = 0;
  let pending = 0;
  let failure;
  return new Promise((resolve, reject) => {
    const pump = () => {
      while (!failure && free.length > 0 && position < size) {
        const buffer = free.pop();
        const n = readSync(fd, buffer, 0, Math.min(CHUNK, size - position), position);
        if (n === 0) failure = new Error(`${file} is shorter than its size when the transfer started`);
        position += n;
        pending++;
        socket.write(n === CHUNK ? buffer : buffer.subarray(0, n), (err) => {
          pending--;
          failure ??= err;
          free.push(buffer);
          pump();
        });
      }
      // The descriptor is closed once no write is in flight, whether the transfer ended or failed.
      if (pending > 0 || (!failure && position < size)) return;
      closeSync(fd);
      if (failure) reject(failure);
      else resolve(size);
    };
    pump();
  });
}

/**
 * A message body on its way into the new file `out`: `expect(length, initial)` once the head is parsed (with
 * the body bytes that came in the same read), then `write` for each later read; `finished` resolves with the
 * byte count once `length` bytes are down.
 */
function bodyToFile(out) {
  const fd = openSync(out, 'w');
  let length = Number.POSITIVE_INFINITY;
  let received = 0;
  let done;
  const finished = new Promise((resolve) => {
    done = resolve;
  });
  const write = (bytes) => {
    if (bytes.length > 0) writeSync(fd, bytes);
    received += bytes.length;
    if (received >= length) {
      closeSync(fd);
      done(received);
    }
  };
  return {
    expect(n, initial) {
      length = n;
      write(initial);
    },
    write,
    finished,
    abort: () => closeSync(fd),
  };
}

/**
 * The `onread` option that reads one message into one reused buffer: reads are gathered until the head is
 * complete, then `onHead(parsed, initialBodyBytes)` returns the body's sink (from `bodyToFile`), nothing when
 * no body follows, or `false` to stop reading; the sink gets every later read.
 */
function readMessage(onHead) {
  let head = Buffer.alloc(0);
  let started = false;
  let sink;
  return {
    buffer: Buffer.allocUnsafeSlow(CHUNK),
    callback: (n, buffer) => {
      const bytes = buffer.subarray(0, n);
      if (started) {
        sink?.write(bytes);
        return true;
      }
      head = Buffer.concat([head, bytes]);
      const parsed = parseHead(head);
      if (!parsed) return true;
      started = true;
      sink = onHead(parsed, head.subarray(parsed.bodyStart));
      return sink !== false;
    },
  };
}

/** GET `path` from 127.0.0.1:`port` with `headers`; the body goes to the new file `out`. */
export function leanGet(port, path, headers, out) {
  return new Promise((resolve, reject) => {
    const body = bodyToFile(out);
    const socket = connect({
      host: '127.0.0.1',
      port,
      onread: readMessage((parsed, initial) => {
        if (!parsed.first.startsWith('HTTP/1.1 200')) {
          body.abort();
          socket.destroy();
          reject(new Error(`GET ${path}: ${parsed.first}`));
          return false;
        }
        body.expect(Number(parsed.headers['content-length']), initial);
        return body;
      }),
    });
    socket.on('error', reject);
    // After the whole body this is a no-op; before it, the server hung up early.
    socket.on('close', () => reject(new Error(`GET ${path}: the connection closed before the body ended`)));
    socket.write(headText(`GET ${path} HTTP/1.1`, { ...headers, connection: 'close' }));
    body.finished.then((n) => {
      socket.destroy();
      resolve(n);
    });
  });
}

/** PUT the file `src` to `path` on 127.0.0.1:`port` with `headers` (Content-Length is added). */
export function leanPut(port, path, headers, src) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let response = Buffer.alloc(0);
    socket.on('data', (d) => {
      response = Buffer.concat([response, d]);
      const parsed = parseHead(response);
      if (!parsed) return;
      // The body goes out at once, so an interim 100 Continue (the SDK asks for one) is only skipped.
      if (/^HTTP\/1\.1 1\d\d/.test(parsed.first)) {
        response = response.subarray(parsed.bodyStart);
        return;
      }
      socket.destroy();
      if (parsed.first.startsWith('HTTP/1.1 200')) resolve();
      else reject(new Error(`PUT ${path}: ${response.toString('latin1')}`));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`PUT ${path}: the connection closed before a response`)));
    const size = statSync(src).size;
    socket.write(
      headText(`PUT ${path} HTTP/1.1`, { ...headers, 'content-length': String(size), connection: 'close' }),
    );
    sendFile(socket, src).catch(reject);
  });
}

/**
 * A server that stores PUT bodies in new files under `dir` and answers every GET with the file `served`,
 * with the same lean buffers. No HTTP library, so nothing per byte but the socket and the file.
 */
export function leanServer(dir, served, onStored) {
  let files = 0;
  return createServer({ pauseOnConnect: true }, (incoming) => {
    // net.Server has no `onread` option, so the accepted connection's handle (not yet reading, thanks to
    // pauseOnConnect) is wrapped in a socket that reads into one reused buffer, as the client does. `handle`
    // is an undocumented Socket option; this is a benchmark's instrument, not product code.
    const socket = new Socket({
      handle: incoming._handle,
      onread: readMessage((parsed, initial) => {
        if (parsed.first.startsWith('PUT')) {
          const out = `${dir}/lean-${files++}.bin`;
          onStored(out);
          const body = bodyToFile(out);
          body.finished.then(() =>
            socket.end(headText('HTTP/1.1 200 OK', { 'content-length': '0', connection: 'close' })),
          );
          body.expect(Number(parsed.headers['content-length']), initial);
          return body;
        }
        const size = statSync(served).size;
        socket.write(headText('HTTP/1.1 200 OK', { 'content-length': String(size), connection: 'close' }));
        sendFile(socket, served).then(
          () => socket.end(),
          () => socket.destroy(),
        );
      }),
    });
    socket.on('error', () => socket.destroy());
    socket.resume();
  });
}
