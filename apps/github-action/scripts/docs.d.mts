export function inputsSection(actionYml: string): string;
export function policySection(): string;
export function renderReadme(readme: string, actionYml: string): string;
export function paths(): { readme: string; action: string };
export function normalizeTables(text: string): string;
