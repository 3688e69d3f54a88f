import { ANNOUNCED_KEY, firstAnnouncement, tutorialsNotice } from '../tutorials';

describe('tutorialsNotice', () => {
  it('shows a failure, and a merge that brought files', () => {
    const failed = { state: 'failed' as const, message: 'The tutorials were not updated: ~/tutorials is not a folder.' };
    expect(tutorialsNotice(failed)).toEqual({ kind: 'error', message: failed.message });
    const updated = {
      state: 'done' as const,
      message: 'Tutorials in ~/tutorials: 1 file(s) copied or updated. Kept your edits of a.ipynb.',
      written: ['b.ipynb'],
      kept: ['a.ipynb']
    };
    expect(tutorialsNotice(updated)).toEqual({ kind: 'info', message: updated.message });
  });

  it('stays quiet when nothing changed or nothing is there', () => {
    expect(tutorialsNotice({ state: 'done', message: 'x', written: [], kept: ['a.ipynb'] })).toBeNull();
    expect(tutorialsNotice({ state: 'running', message: 'Updating the tutorials ...' })).toBeNull();
    expect(tutorialsNotice({ state: 'none', message: '' })).toBeNull();
  });
});

describe('firstAnnouncement', () => {
  it('announces one merge once, and the next start\'s merge again', () => {
    const kept = new Map<string, string>();
    const store = {
      getItem: (k: string) => kept.get(k) ?? null,
      setItem: (k: string, v: string) => void kept.set(k, v)
    };
    const merge = { state: 'done' as const, message: 'm', written: ['a.ipynb'], merge_id: 'one' };
    expect(firstAnnouncement(merge, store)).toBe(true);
    expect(kept.get(ANNOUNCED_KEY)).toBe('one');
    expect(firstAnnouncement(merge, store)).toBe(false);
    expect(firstAnnouncement({ ...merge, merge_id: 'two' }, store)).toBe(true);
    expect(firstAnnouncement({ state: 'done', message: 'm', written: ['a.ipynb'] }, store)).toBe(true);
  });
});
