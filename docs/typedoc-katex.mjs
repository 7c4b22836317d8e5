// @ts-check
/**
 * A local TypeDoc plugin: renders math with KaTeX at build time, in the guides under
 * docs/ and in TSDoc comments alike, and serves KaTeX's CSS and fonts from the site
 * itself (no CDN, nothing loaded from the network).
 *
 * Math syntax (the same as GitHub's, so the Markdown reads well there too):
 *
 * - inline:  `$x^2$`  or  $`x^2`$   (the second form is for TSDoc comments, where
 *   TypeDoc would otherwise warn about the braces of `\frac{a}{b}`);
 * - display: a `$$ … $$` block, or a fenced code block with the language `math`.
 *
 * A formula KaTeX cannot parse is an error of the docs build (the page and the formula
 * are named), so broken math never ships.
 *
 * Loaded from typedoc.json: `"plugin": ["./docs/typedoc-katex.mjs"]`.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import katex from 'katex';
import { Application, JSX, RendererEvent } from 'typedoc';

const require = createRequire(import.meta.url);
const KATEX_DIST = dirname(require.resolve('katex/dist/katex.min.css'));
const ASSET_DIR = 'assets/katex';

/** Small fixes so math sits well in TypeDoc's default theme (both colour schemes). */
const SITE_CSS = `/* normkit: KaTeX inside TypeDoc's default theme */
.katex { font-size: 1.1em; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: 0.25em 0; }
.tsd-panel .katex-display, .tsd-comment .katex-display { margin: 0.75em 0; }
.katex-error { color: var(--color-ts-keyword, #c00); }
`;

const DOLLAR = 0x24;
const BACKTICK = 0x60;
const BACKSLASH = 0x5c;

/**
 * Inline math: `$…$`, `$$…$$` inside a line, and $`…`$.
 * Pandoc's rule for single dollars keeps prices ("$5 and $10") as text: the opening `$`
 * must be followed by a non-space, the closing one preceded by a non-space and not
 * followed by a digit.
 *
 * @param {any} state markdown-it inline state
 * @param {boolean} silent only validate
 */
function mathInline(state, silent) {
  const src = state.src;
  const start = state.pos;
  if (src.charCodeAt(start) !== DOLLAR) return false;

  // $`…`$
  if (src.charCodeAt(start + 1) === BACKTICK) {
    const end = src.indexOf('`$', start + 2);
    if (end < 0) return false;
    if (!silent) push(state, src.slice(start + 2, end), false);
    state.pos = end + 2;
    return true;
  }

  // $$…$$ on one line of a paragraph: display math
  if (src.charCodeAt(start + 1) === DOLLAR) {
    const end = src.indexOf('$$', start + 2);
    if (end < 0 || end === start + 2) return false;
    if (!silent) push(state, src.slice(start + 2, end), true);
    state.pos = end + 2;
    return true;
  }

  const first = src.charCodeAt(start + 1);
  if (Number.isNaN(first) || /\s/.test(String.fromCharCode(first))) return false;
  let end = start + 1;
  for (;;) {
    end = src.indexOf('$', end);
    if (end < 0) return false;
    let backslashes = 0;
    for (let i = end - 1; i > start && src.charCodeAt(i) === BACKSLASH; i--) backslashes++;
    if (backslashes % 2 === 1) {
      end += 1;
      continue;
    }
    break;
  }
  const content = src.slice(start + 1, end);
  if (/\s$/.test(content) || /[0-9]/.test(src.charAt(end + 1))) return false;
  if (!silent) push(state, content, false);
  state.pos = end + 1;
  return true;
}

/** @param {any} state @param {string} content @param {boolean} display */
function push(state, content, display) {
  const token = state.push(display ? 'math_inline_display' : 'math_inline', 'math', 0);
  token.content = content;
  token.markup = '$';
}

/**
 * Display math as a block: lines from `$$` to `$$` (either may carry math on the same line).
 *
 * @param {any} state markdown-it block state
 * @param {number} startLine
 * @param {number} endLine
 * @param {boolean} silent
 */
function mathBlock(state, startLine, endLine, silent) {
  let pos = state.bMarks[startLine] + state.tShift[startLine];
  let max = state.eMarks[startLine];
  if (state.sCount[startLine] - state.blkIndent >= 4) return false;
  if (pos + 2 > max || state.src.slice(pos, pos + 2) !== '$$') return false;
  if (silent) return true;
  pos += 2;
  let firstLine = state.src.slice(pos, max);
  /** @type {string[]} */
  const lines = [];
  let line = startLine;
  let closed = false;
  if (firstLine.trim().endsWith('$$') && firstLine.trim().length > 2) {
    // $$ … $$ on a single line
    lines.push(firstLine.trim().slice(0, -2));
    closed = true;
  } else {
    if (firstLine.trim().length > 0) lines.push(firstLine);
    while (++line < endLine) {
      pos = state.bMarks[line] + state.tShift[line];
      max = state.eMarks[line];
      if (pos < max && state.sCount[line] < state.blkIndent) break;
      const text = state.src.slice(pos, max);
      if (text.trimEnd().endsWith('$$')) {
        const before = text.trimEnd().slice(0, -2);
        if (before.trim().length > 0) lines.push(before);
        closed = true;
        break;
      }
      lines.push(state.src.slice(state.bMarks[line], max));
    }
  }
  if (!closed) return false;
  state.line = line + 1;
  const token = state.push('math_block', 'math', 0);
  token.block = true;
  token.content = lines.join('\n');
  token.map = [startLine, state.line];
  token.markup = '$$';
  return true;
}

/**
 * @param {import('typedoc').Application} app
 * @returns {(md: any) => void} a markdown-it plugin
 */
function katexMarkdownIt(app) {
  /** @param {string} tex @param {boolean} display */
  const render = (tex, display) => {
    try {
      return katex.renderToString(tex, { displayMode: display, throwOnError: true, strict: 'error', output: 'htmlAndMathml' });
    } catch (e) {
      app.logger.error(`[typedoc-katex] cannot render ${display ? 'display' : 'inline'} math ${JSON.stringify(tex)}: ${e instanceof Error ? e.message : String(e)}`);
      return `<code class="katex-error">${escapeHtml(tex)}</code>`;
    }
  };
  return (md) => {
    md.inline.ruler.before('escape', 'math_inline', mathInline);
    md.block.ruler.before('fence', 'math_block', mathBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
    md.renderer.rules.math_inline = (/** @type {any[]} */ tokens, /** @type {number} */ idx) => render(tokens[idx].content, false);
    md.renderer.rules.math_inline_display = (/** @type {any[]} */ tokens, /** @type {number} */ idx) => render(tokens[idx].content, true);
    md.renderer.rules.math_block = (/** @type {any[]} */ tokens, /** @type {number} */ idx) => `${render(tokens[idx].content, true)}\n`;
    const fence = md.renderer.rules.fence;
    md.renderer.rules.fence = (/** @type {any[]} */ tokens, /** @type {number} */ idx, /** @type {any} */ options, /** @type {any} */ env, /** @type {any} */ self) => {
      const token = tokens[idx];
      if (token.info.trim() === 'math') return `${render(token.content, true)}\n`;
      return fence ? fence(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options);
    };
  };
}

/** @param {string} text */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on(Application.EVENT_BOOTSTRAP_END, () => {
    const previous = app.options.getValue('markdownItLoader');
    const plugin = katexMarkdownIt(app);
    app.options.setValue('markdownItLoader', (/** @type {any} */ parser) => {
      previous(parser);
      parser.use(plugin);
    });
  });

  app.renderer.hooks.on('head.end', (context) =>
    JSX.createElement(
      JSX.Fragment,
      null,
      JSX.createElement('link', { rel: 'stylesheet', href: context.relativeURL(`${ASSET_DIR}/katex.min.css`, true) }),
      JSX.createElement('link', { rel: 'stylesheet', href: context.relativeURL(`${ASSET_DIR}/normkit-math.css`, true) }),
    ),
  );

  app.renderer.on(RendererEvent.END, (event) => {
    const out = join(event.outputDirectory, ASSET_DIR);
    mkdirSync(join(out, 'fonts'), { recursive: true });
    cpSync(join(KATEX_DIST, 'katex.min.css'), join(out, 'katex.min.css'));
    cpSync(join(KATEX_DIST, 'fonts'), join(out, 'fonts'), { recursive: true });
    // KaTeX's CSS asks for woff2, then woff, then ttf; all three are copied.
    writeFileSync(join(out, 'normkit-math.css'), SITE_CSS);
  });
}
