// Label selectors: a Deployment's, a Service's, and the equality-based ones given on the command line.
import type { LabelSelector } from '../core/objects.ts';

/** Pure: a Deployment's label selector matches these labels (an empty selector matches nothing). */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const pairs = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (pairs.length === 0 && expressions.length === 0) return false;
  if (!pairs.every(([k, v]) => labels[k] === v)) return false;
  return expressions.every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        return has && values.includes(labels[e.key]!);
      case 'NotIn':
        return !has || !values.includes(labels[e.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** Pure: a Service selector selects pods whose labels include every pair; an empty one selects nothing. */
export function serviceSelects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([k, v]) => labels[k] === v);
}

/** A parsed `a=b,c!=d,e,!f` selector: one requirement per comma-separated term. */
export type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value?: string };

/** Pure: equality-based selectors only (what --namespace-selector accepts); undefined when not one. */
export function parseSelector(text: string): Requirement[] | undefined {
  const out: Requirement[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') return undefined;
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(term);
    if (m) out.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! });
    else if (/^![^=!\s]+$/.test(term)) out.push({ key: term.slice(1), op: '!exists' });
    else if (/^[^=!\s]+$/.test(term)) out.push({ key: term, op: 'exists' });
    else return undefined;
  }
  return out;
}

export function requirementsMatch(requirements: readonly Requirement[], labels: Record<string, string>): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    if (r.op === 'exists') return has;
    if (r.op === '!exists') return !has;
    if (r.op === '=') return has && labels[r.key] === r.value;
    return !has || labels[r.key] !== r.value;
  });
}
