/** One rename in a phases.yaml written by the check tests. */
export interface RenameFixture {
  id: string;
  table?: string;
  from: string;
  to: string;
  releases?: { phase1?: string; phase2?: string; phase3?: string };
}

export interface ProjectFixture {
  releases: string[];
  changes: RenameFixture[];
  sourceGlobs?: string[];
  ignoreGlobs?: string[];
}

/** phases.yaml text in the documented shape (docs/internals.md), one rename per change. */
export function phasesYaml(project: ProjectFixture): string {
  const lines = [
    '# phases.yaml — column changes that ship in three phases, one release each.',
    'version: 1',
    `releases: [${project.releases.join(', ')}]`,
  ];
  if (project.sourceGlobs || project.ignoreGlobs) {
    lines.push('check:');
    if (project.sourceGlobs) lines.push(`  sourceGlobs: ${JSON.stringify(project.sourceGlobs)}`);
    if (project.ignoreGlobs) lines.push(`  ignoreGlobs: ${JSON.stringify(project.ignoreGlobs)}`);
  }
  lines.push(project.changes.length === 0 ? 'changes: []' : 'changes:');
  for (const change of project.changes) {
    const releases = Object.entries(change.releases ?? {}).map(([phase, release]) => `${phase}: ${release}`);
    lines.push(
      `  - id: ${change.id}`,
      '    rename:',
      '      schema: public',
      `      table: ${change.table ?? 'users'}`,
      `      from: ${change.from}`,
      `      to: ${change.to}`,
      '    column:',
      '      type: text',
      '      nullable: true',
      '      indexes: []',
      '      constraints: []',
      '    key: { columns: [id], types: [bigint] }',
      releases.length === 0 ? '    releases: {}' : '    releases:',
      ...releases.map((entry) => `      ${entry}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The 1-based line of the first line of `text` containing `needle` (for asserting reported locations). */
export function lineOf(text: string, needle: string, after = 0): number {
  const lines = text.split('\n');
  const index = lines.findIndex((line, position) => position >= after && line.includes(needle));
  if (index < 0) throw new Error(`"${needle}" not found`);
  return index + 1;
}
