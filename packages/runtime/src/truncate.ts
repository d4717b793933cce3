/** Cuts text to a limit, keeping the end (where errors usually are) and saying that it was cut. */
export function truncateEnd(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = '…[truncated] ';
  return marker + text.slice(text.length - (max - marker.length));
}

/** Cuts text to a limit, keeping the start. */
export function truncateStart(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = ' …[truncated]';
  return text.slice(0, max - marker.length) + marker;
}
