/**
 * The little XML that S3, IAM and STS speak: a builder for responses and a parser for the request
 * bodies S3 accepts (configurations, tag sets, DeleteObjects). No attributes beyond a root xmlns are
 * ever needed, so the parser drops them.
 */

export type XmlValue = string | number | boolean | Date | undefined | null | XmlValue[] | { readonly [name: string]: XmlValue };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** `{ A: 'x', B: [{ C: 1 }, { C: 2 }] }` → `<A>x</A><B><C>1</C></B><B><C>2</C></B>`; undefined is left out. */
export function toXml(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => toXml(name, item)).join('');
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value).map(([child, v]) => toXml(child, v)).join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function xmlDocument(root: string, value: { readonly [name: string]: XmlValue }, xmlns?: string): string {
  const body = toXml(root, value);
  const open = xmlns ? `<${root} xmlns="${xmlns}">` : `<${root}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${open}${body.slice(root.length + 2)}`;
}

export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

/** Parses a document into its root element; throws on anything that is not well-formed enough to read. */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [{ name: '#document', children: [], text: '' }];
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)[^>]*?(\/?)>|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>/g;
  let last = 0;
  for (let match = tag.exec(source); match; match = tag.exec(source)) {
    stack.at(-1)!.text += decodeEntities(source.slice(last, match.index));
    last = tag.lastIndex;
    const [whole, closing, name, selfClosing, cdata] = match;
    if (cdata !== undefined) stack.at(-1)!.text += cdata;
    if (!name || whole.startsWith('<?') || whole.startsWith('<!')) continue;
    const localName = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name;
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== localName || stack.length === 0) throw new Error(`unexpected </${name}>`);
      continue;
    }
    const element: XmlElement = { name: localName, children: [], text: '' };
    stack.at(-1)!.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  const root = stack[0]!.children[0];
  if (stack.length !== 1 || !root) throw new Error('unclosed or missing root element');
  return root;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[entity]!;
  });
}

export function childElements(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((child) => child.name === name) : [];
}

export function childElement(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((child) => child.name === name);
}

export function childText(element: XmlElement | undefined, name: string): string | undefined {
  const child = childElement(element, name);
  // A leaf's text is data (a tag value may start with a space); around child elements it is layout.
  return child && (child.children.length > 0 ? child.text.trim() : child.text);
}
