/** True when NATS subject pattern `pattern` matches every subject `subject` can match. */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i]!;
    if (token === '>') return s.length > i;
    const other = s[i];
    if (other === undefined || other === '>') return false;
    if (token === '*') continue;
    if (token !== other) return false;
  }
  return p.length === s.length;
}
