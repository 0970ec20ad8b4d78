// Fenced code blocks of a Markdown file, with the line their code starts on,
// their language and any further words of the info string (```js server).
export interface DocBlock {
  readonly lang: string;
  readonly flags: readonly string[];
  readonly line: number;
  readonly code: string;
}

export function docBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`line ${i + 1}: code block never closed`);
    blocks.push({ lang: open[1]!, flags: open[2]!.trim().split(/\s+/).filter((w) => w !== ''), line: start + 1, code: lines.slice(start, end).join('\n') + '\n' });
    i = end;
  }
  return blocks;
}
