/**
 * The documentation: README.md is a newcomer's first hour, docs/ holds the depth, one page per question. The
 * reference tables live on their pages, complete, and every relative link lands on a file and a heading.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOADER_VARIABLES } from '../lib/loader-variables.ts';
import { parseSettings } from '../lib/settings.ts';
import { REPO_ROOT } from './support/project.ts';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const README = read('README.md');
const PAGES = readdirSync(join(REPO_ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`);
const MARKDOWN = ['README.md', ...PAGES];

/** The lines outside fenced code blocks. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.startsWith('```')) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor of a heading: lower case, punctuation but "-" and "_" dropped, spaces as "-"; repeats get -1, -2… */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replaceAll(' ', '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** The targets of the markdown links in `markdown`, outside code. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown).join('\n').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

/** The first paragraph after a page's title, joined into one line. */
function opening(markdown: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line, index) => index > 0 && line.trim() !== '');
  const end = lines.findIndex((line, index) => index > start && line.trim() === '');
  return lines.slice(start, end === -1 ? undefined : end).join(' ');
}

/** The markdown table whose header row is `header`, on `page`: its rows, header included. */
function table(page: string, header: string): string {
  const lines = read(page).split('\n');
  const start = lines.indexOf(header);
  expect(start, `${page} has the table ${header}`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((line, index) => index > start && !line.startsWith('|'));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

describe('README.md, the first hour', () => {
  it('is at most 250 lines', () => {
    expect(README.trimEnd().split('\n').length).toBeLessThanOrEqual(250);
  });

  it('says what it is in one sentence, then gives the two commands of a fresh machine', () => {
    const lines = README.split('\n');
    expect(lines[0]).toBe('# kms-secrets');
    expect(opening(README).match(/\.(\s|$)/g)).toHaveLength(1);
    expect(lines.find((line) => line.startsWith('## '))).toBe('## On a fresh machine');
    const firstBlock = README.slice(README.indexOf('```sh\n') + 6, README.indexOf('\n```', README.indexOf('```sh\n')));
    expect(firstBlock.split('\n').map((line) => line.replace(/#.*$/, '').trim())).toEqual(['npm ci && npm run demo', 'npm test']);
  });

  it('keeps the hands-on tour one command away', () => {
    expect(README).toMatch(/### Try it by hand\n\n```sh\nnpm run local -- --tour\n```/);
  });

  it('links the docs index and every page of docs/, and the index lists every page', () => {
    const fromReadme = new Set(linkTargets(README).map((target) => target.split('#')[0]));
    const fromIndex = new Set(linkTargets(read('docs/README.md')).map((target) => `docs/${target.split('#')[0]}`));
    for (const page of PAGES) {
      expect(fromReadme, `README links ${page}`).toContain(page);
      if (page !== 'docs/README.md') expect(fromIndex, `docs/README.md lists ${page}`).toContain(page);
    }
  });
});

describe('docs/, one page per question', () => {
  it.each(PAGES)('%s starts with the question it answers', (page) => {
    const markdown = read(page);
    expect(markdown.split('\n')[0]).toMatch(/^# \S/);
    const first = opening(markdown);
    expect(first, 'a paragraph, not a table, list, code or heading').toMatch(/^[A-Z]/);
    expect(first.indexOf('?'), `${page} opens with a question: ${first}`).toBeGreaterThan(0);
    const sentenceEnd = first.search(/\.(\s|$)/);
    expect(sentenceEnd === -1 || first.indexOf('?') < sentenceEnd, `the question comes first: ${first}`).toBe(true);
  });

  it('the security model has the principals table and the escalation matrix', () => {
    expect(table('docs/security.md', '| principal | IAM name | may | may not |')).toMatch(/\| break-glass \|/);
    expect(table('docs/security.md', '| principal | attempt | outcome |').split('\n').length).toBeGreaterThan(40);
    expect(README).not.toContain('| principal | attempt | outcome |');
  });

  it('the security model lists every loader variable the code refuses, by who reads it', () => {
    const rows = table('docs/security.md', '| read by | variables |');
    for (const group of LOADER_VARIABLES) {
      for (const name of group.names) expect(rows).toContain(`\`${name}\``);
      for (const prefix of group.prefixes) expect(rows).toContain(`\`${prefix}*\``);
    }
    expect(rows.split('\n')).toHaveLength(LOADER_VARIABLES.length + 2);
  });

  it('the settings reference has a row for every setting the parser accepts', () => {
    const allowed = (raw: unknown) => {
      try {
        parseSettings(raw);
      } catch (error) {
        return (error as Error).message.replace(/^.*allowed: /, '').split(', ');
      }
      throw new Error('an unknown setting was accepted');
    };
    const settings = [...allowed({ unknown: 1 }), ...allowed({ environments: { staging: { unknown: 1 } } })]
      .filter((key) => !['defaults', 'environments'].includes(key));
    const rows = table('docs/settings.md', '| setting | default | meaning |');
    expect(settings.filter((key) => !rows.includes(`| \`${key}\` |`))).toEqual([]);
  });

  it('the runtime has its options and exit codes, and the deploy page the plan-check rules', () => {
    expect(table('docs/runtime.md', '| option | variable | meaning |')).toContain('`SECRETS_BUCKET`');
    const exitCodes = table('docs/runtime.md', '| exit code | meaning |');
    for (const code of ['| 78 |', '| 2 |', '| 128 + n |', '| 127 / 126 |']) expect(exitCodes).toContain(code);
    const deploy = read('docs/deploy.md');
    expect(deploy).toContain('## Who applies a plan: `kms-secrets plan-check <env>`');
    for (const verdict of ['**Exit 0**, the deployer may apply', '**Exit 3**, an administrator must apply', '**Exit 1**']) expect(deploy).toContain(verdict);
  });

  it('the tree rules, the commands and their failures have their pages', () => {
    expect(table('docs/secrets-tree.md', '| what | rule |')).toContain('| loader variables |');
    expect(table('docs/cli.md', '| command | what it does | KMS permission it needs |')).toContain('`plan-check <env> [--plan FILE]`');
    expect(table('docs/cli.md', '| message | meaning, and what to do |').split('\n').length).toBeGreaterThan(10);
  });
});

describe('links', () => {
  it.each(MARKDOWN)('every relative link of %s reaches a file, and a heading of it', (page) => {
    const broken = linkTargets(read(page)).filter((target) => !/^[a-z]+:/.test(target)).filter((target) => {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const file = path === '' ? join(REPO_ROOT, page) : resolve(REPO_ROOT, dirname(page), path);
      if (!existsSync(file) || relative(REPO_ROOT, file).startsWith('..')) return true;
      return anchor !== undefined && (!file.endsWith('.md') || !anchors(readFileSync(file, 'utf8')).has(anchor));
    });
    expect(broken).toEqual([]);
  });
});

describe('facts the documentation states', () => {
  const everything = MARKDOWN.map(read).join('\n');

  it('gives KMS\'s symmetric request quota as AWS does, in each place it is given', () => {
    expect(everything).not.toMatch(/5,500 to 100,000|5,500\/s/);
    for (const page of ['docs/benchmarks.md', 'docs/local-endpoint.md']) {
      expect(read(page).replaceAll('\n', ' ')).toMatch(/10,000 per ?second by default, 20,000 in six Regions,? 100,000 in us-east-1, us-west-2 and eu-west-1/);
    }
  });

  it('says envelopes start 02 04 78, as encrypt writes them', () => {
    expect(table('docs/secrets-tree.md', '| what | rule |')).toContain('(`02 04 78…`, what `encrypt` writes');
  });

  it('counts the uses as the table does', () => {
    const uses = table('README.md', '| use | command | needs |').split('\n').length - 2;
    expect(uses).toBe(4);
    expect(README).toContain('Four uses');
    expect(everything).not.toMatch(/[Tt]he three uses/);
  });

  it('lists AssumeRoleWithWebIdentity among what the local endpoint implements, never among what it does not', () => {
    const local = read('docs/local-endpoint.md');
    const notImplemented = local.slice(local.indexOf('## Not implemented'), local.indexOf('\n## ', local.indexOf('## Not implemented') + 1));
    expect(notImplemented.replaceAll('\n', ' ')).toContain('STS other than GetCallerIdentity, AssumeRole and AssumeRoleWithWebIdentity');
    expect(everything).not.toMatch(/AssumeRoleWithWebIdentity[^.|]*not implemented/);
  });

  it('tells how to init examples/terraform offline', () => {
    const plainTerraform = read('docs/adopting.md');
    expect(plainTerraform).toContain('TF_CLI_CONFIG_FILE=$PWD/.cache/terraform-offline.tfrc');
    expect(read('docs/deploy.md')).toContain('TF_CLI_CONFIG_FILE=$PWD/.cache/terraform-offline.tfrc terraform -chdir=examples/terraform init');
  });
});
