// Loaded with import() from entry.ts, so the build carries it as a lazily compiled module.
export const double = (n: number) => n * 2;
