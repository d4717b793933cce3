import type { AnyPlugin } from './plugin.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The configuration table of a plugin's README, generated from its schema. */
export function configurationTable(plugin: AnyPlugin): string {
  const rows = plugin.properties.map((p) => {
    const where = p.only === 'action' ? 'action' : p.only === 'extension' ? 'extension' : 'both';
    const flags = [p.secret && 'secret', p.queryable && 'queryable', p.dynamic && 'dynamic']
      .filter(Boolean)
      .join(', ');
    const def = p.defaultValue === undefined ? '' : `\`${JSON.stringify(p.defaultValue)}\``;
    return `| \`${p.name}\` | ${p.type} | ${p.required ? 'yes' : 'no'} | ${def} | ${where} | ${flags} | ${cell(p.description ?? '')} |`;
  });
  return [
    '| Property | Type | Required | Default | Used by | Flags | Description |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
