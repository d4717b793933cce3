import type { BuildOptions, Metafile } from 'esbuild';

export function bundleOptions(entry: string, outfile: string | undefined, extra?: BuildOptions): BuildOptions;
export function zipFiles(dir: string, files: readonly string[], zipPath: string): Promise<number>;
export function buildLambda(options: {
  entry: string;
  outdir: string;
  zipName?: string;
  external?: string[];
}): Promise<{
  outfile: string;
  zipPath: string;
  bundleBytes: number;
  zipBytes: number;
  metafile: Metafile;
}>;
