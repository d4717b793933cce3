// The benchmark's references: the least any object store written with Node's HTTP server can cost, a server
// that only pipes PUT bodies into new files and GET responses out of one file, with no signatures, checksums
// or metadata; and beside it the lean server (lean-http.mjs), which does the same with no HTTP library, for
// what loopback TCP alone costs. `node bare-http.mjs <folder> <file to serve>`; speaks over IPC like
// serve-stack.mjs, and a DELETE to the bare server removes what both have stored.
import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { leanServer } from './lean-http.mjs';

const [dir, served] = process.argv.slice(2);
const written = [];
const server = createServer({ highWaterMark: 1 << 20 }, async (req, res) => {
  try {
    if (req.method === 'PUT') {
      const file = join(dir, `bare-${written.length}.bin`);
      written.push(file);
      await pipeline(req, createWriteStream(file, { highWaterMark: 1 << 20 }));
      res.end();
    } else if (req.method === 'DELETE') {
      for (const f of written.splice(0)) rmSync(f, { force: true });
      res.end();
    } else {
      res.writeHead(200, { 'content-length': statSync(served).size });
      await pipeline(createReadStream(served, { highWaterMark: 1 << 20 }), res);
    }
  } catch {
    res.destroy();
  }
});
const lean = leanServer(dir, served, (file) => written.push(file));
const listen = (s) => new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
await Promise.all([listen(server), listen(lean)]);
const url = (s) => `http://127.0.0.1:${s.address().port}`;
process.send({ endpoint: url(server), lean: url(lean) });
process.on('message', (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
  if (m === 'stop') {
    lean.close();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
