import { el } from './dom.js';

// YAML shown with its parts coloured: comments, keys, strings, numbers and booleans each get
// a span whose text is the source's own characters (textContent), never parsed as markup.

const TOKEN =
  /(#.*$)|("(?:[^"\\]|\\.)*"|'[^']*')|(^\s*-?\s*[^\s:#][^:#]*?:(?=\s|$))|(\b-?\d+(?:\.\d+)?(?:e[-+]?\d+)?\b)|(\b(?:true|false|null)\b)/gi;
const CLASSES = ['y-comment', 'y-string', 'y-key', 'y-number', 'y-bool'];

export function yamlBlock(text) {
  const pre = el('pre', { class: 'yaml' });
  for (const line of text.replace(/\n$/, '').split('\n')) {
    let at = 0;
    for (const m of line.matchAll(TOKEN)) {
      if (m.index > at) pre.append(line.slice(at, m.index));
      const kind = m.slice(1).findIndex((g) => g !== undefined);
      pre.append(el('span', { class: CLASSES[kind] }, m[0]));
      at = m.index + m[0].length;
    }
    pre.append(line.slice(at) + '\n');
  }
  return pre;
}
