import { CoursesActions, CoursesState, Me, dueText, renderCoursesPanel, summarisePull } from '../courses';

const me: Me = {
  user: 'stud',
  courses: [
    {
      name: 'ml101',
      role: 'student',
      labs: [
        {
          name: 'lab1',
          title: 'First lab',
          version: 2,
          due_iso: '2020-01-01T00:00:00+00:00',
          files: ['intro.ipynb'],
          my_submissions: [{ id: 'x', submitted_iso: '2021-01-01T00:00:00Z', late: true }],
          local: { pulled_version: 1, edited: ['intro.ipynb'] }
        }
      ]
    },
    { name: 'ml201', role: 'instructor', labs: [] }
  ]
};

function actions(): CoursesActions & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    refresh: () => calls.push(['refresh']),
    pull: () => calls.push(['pull']),
    handIn: (c, l) => calls.push(['handIn', c, l]),
    publish: f => calls.push(['publish', f])
  };
}

const base: CoursesState = { me, busy: false, message: '', error: false, currentFolder: 'ml201/draft' };

describe('summarisePull', () => {
  it('says what changed and which edits were kept', () => {
    expect(
      summarisePull([
        { course: 'ml101', lab: 'lab1', version: 2, written: ['extra.ipynb'], kept: ['intro.ipynb'] },
        { course: 'ml101', lab: 'lab2', version: 1, written: [], kept: [] },
        { course: 'ml101', lab: 'bad', error: 'points outside your home' }
      ])
    ).toEqual([
      'ml101/lab1 (version 2): 1 file(s) updated; kept your edits in intro.ipynb',
      'ml101/lab2 (version 1): up to date',
      'ml101/bad: not pulled (points outside your home)'
    ]);
  });
});

describe('dueText', () => {
  it('marks a past due date', () => {
    expect(dueText('2020-01-01T00:00:00Z', new Date('2021-01-01'))).toContain('(past)');
    expect(dueText(null)).toBe('no due date');
  });
});

describe('renderCoursesPanel', () => {
  it('lists labs with local state, and hands in the right lab', () => {
    const node = document.createElement('div');
    const a = actions();
    renderCoursesPanel(node, base, a);
    const lab = node.querySelector('li[data-course="ml101"][data-lab="lab1"]') as HTMLElement;
    expect(lab.textContent).toContain('you have version 1 of 2');
    expect(lab.textContent).toContain('edited by you: intro.ipynb');
    expect(lab.textContent).toContain('(late)');
    (lab.querySelector('button[data-action="handin"]') as HTMLButtonElement).click();
    (node.querySelector('button[data-action="pull"]') as HTMLButtonElement).click();
    expect(a.calls).toEqual([['handIn', 'ml101', 'lab1'], ['pull']]);
  });

  it('offers publishing only for courses the user teaches, from the current folder', () => {
    const node = document.createElement('div');
    const a = actions();
    renderCoursesPanel(node, base, a);
    const form = node.querySelector('form.sandbox-Publish') as HTMLFormElement;
    const options = Array.from(form.querySelectorAll('option')).map(o => o.value);
    expect(options).toEqual(['ml201']);
    (form.querySelector('input[name="name"]') as HTMLInputElement).value = 'lab2';
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    expect(a.calls).toEqual([
      ['publish', { course: 'ml201', name: 'lab2', folder: 'ml201/draft', title: '', due: null }]
    ]);
  });

  it('disables the buttons while busy and shows errors', () => {
    const node = document.createElement('div');
    renderCoursesPanel(node, { ...base, busy: true, message: 'Only students hand in', error: true }, actions());
    expect((node.querySelector('button[data-action="pull"]') as HTMLButtonElement).disabled).toBe(true);
    expect(node.querySelector('.sandbox-Error')?.textContent).toBe('Only students hand in');
  });

  it('says so when the user is in no course', () => {
    const node = document.createElement('div');
    renderCoursesPanel(node, { ...base, me: { user: 'x', courses: [] } }, actions());
    expect(node.textContent).toContain('not in any course');
    expect(node.querySelector('form')).toBeNull();
  });

  it('shows how the pull at start went, a failure as an error', () => {
    const node = document.createElement('div');
    const failed = { state: 'failed' as const, message: 'Course labs were not pulled: the courses service did not answer.' };
    renderCoursesPanel(node, { ...base, me: { ...me, start_pull: failed } }, actions());
    const shown = node.querySelector('[data-start-pull="failed"]') as HTMLElement;
    expect(shown.textContent).toContain('did not answer');
    expect(shown.classList.contains('sandbox-Error')).toBe(true);
    const done = { state: 'done' as const, message: '1 course lab(s) up to date.' };
    renderCoursesPanel(node, { ...base, me: { ...me, start_pull: done } }, actions());
    const ok = node.querySelector('[data-start-pull="done"]') as HTMLElement;
    expect(ok.textContent).toBe("At this server's start: 1 course lab(s) up to date.");
    expect(ok.classList.contains('sandbox-Error')).toBe(false);
    renderCoursesPanel(node, { ...base, me: { ...me, start_pull: { state: 'none', message: '' } } }, actions());
    expect(node.querySelector('[data-start-pull]')).toBeNull();
  });

  it("shows each course's lab-session reservations", () => {
    const node = document.createElement('div');
    const reservation = {
      id: 3,
      slice: '1g.10gb',
      count: 4,
      start: '2030-03-02T01:00:00+00:00',
      end: '2030-03-02T03:00:00+00:00',
      claimed: 1,
      state: 'ahead' as const
    };
    const [ml101, ml201] = me.courses;
    const withReservation = { ...me, courses: [{ ...ml101, reservations: [reservation] }, ml201] };
    renderCoursesPanel(node, { ...base, me: withReservation }, actions());
    const shown = node.querySelector('[data-course="ml101"] [data-reservation="3"]') as HTMLElement;
    expect(shown.textContent).toContain('4 x 1g.10gb reserved for this course');
    expect(shown.textContent).toContain('(1 in use)');
    expect(node.querySelector('[data-course="ml201"] [data-reservation]')).toBeNull();
  });
});
