import { tutorialsNotice } from '../tutorials';

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
