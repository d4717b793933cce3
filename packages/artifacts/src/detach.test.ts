import { describe, expect, it } from 'vitest';
import { copied, detach, detachAfterCopies } from './detach.js';

const nextTask = () => new Promise((resolve) => setImmediate(resolve));

describe('detach', () => {
  it('empties every view of the buffer', () => {
    const buffer = new ArrayBuffer(1024);
    const a = new Uint8Array(buffer, 0, 10);
    const b = Buffer.from(buffer, 100, 50);
    expect(detach(buffer)).toBe(true);
    expect([buffer.byteLength, a.length, b.length]).toEqual([0, 0, 0]);
  });
});

describe('detachAfterCopies', () => {
  it('detaches after the last view is copied, once the current task is over', async () => {
    const buffer = Buffer.allocUnsafeSlow(30);
    const views = [buffer.subarray(0, 10), buffer.subarray(10, 25), buffer.subarray(25)];
    detachAfterCopies(buffer.buffer, views.length);
    copied(views[0]!);
    copied(views[1]!);
    await nextTask();
    expect(buffer.buffer.byteLength).toBe(30);
    copied(views[2]!);
    // A writer may still read the view's length right after handing it over (yazl does).
    expect(views[2]!.length).toBe(5);
    await nextTask();
    expect(buffer.buffer.byteLength).toBe(0);
  });

  it('leaves undeclared buffers alone', async () => {
    const view = Buffer.allocUnsafeSlow(8);
    copied(view);
    await nextTask();
    expect(view.length).toBe(8);
  });
});
