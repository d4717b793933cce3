export type ArtifactFormat = 'zip' | 'tar' | 'tar.gz' | 'file';

/** How many leading bytes detection needs: the ustar magic sits at offset 257. */
export const DETECT_BYTES = 512;

/**
 * Detects the format from content, never from the key: CodePipeline keys carry no extension and a user's
 * `build.zip` may be anything. Anything unrecognised is a plain file.
 */
export function detectFormat(head: Uint8Array): ArtifactFormat {
  if (head[0] === 0x50 && head[1] === 0x4b) {
    // Local file header (PK\3\4) or, for an archive with no entries, the end-of-central-directory (PK\5\6).
    if ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6)) return 'zip';
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') return 'tar';
  return 'file';
}
