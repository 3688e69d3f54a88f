// The Course labs panel: the user's courses and labs, pull (never overwrites an edit),
// hand in (students), and publish a folder of this server (instructors).

import { h } from './dom';
import { languageTag, trans } from './i18n';

export interface Submission {
  id: string;
  submitted_iso: string;
  late: boolean;
}

export interface Lab {
  name: string;
  title: string;
  version: number;
  due_iso: string | null;
  files: string[];
  my_submissions?: Submission[];
  students_handed_in?: number;
  local?: { pulled_version: number; edited: string[]; present?: boolean };
}

/** A lab-session reservation of the course (slices kept for its members). */
export interface Reservation {
  id: number;
  slice: string;
  count: number;
  start: string;
  end: string;
  claimed: number;
  state: 'ahead' | 'keeping' | 'open';
}

export interface Course {
  name: string;
  role: 'student' | 'instructor';
  labs: Lab[];
  reservations?: Reservation[];
}

/** How the pull at this server's start went (it runs beside the start). */
export interface StartPull {
  state: 'none' | 'running' | 'done' | 'failed';
  message: string;
}

export interface Me {
  user: string;
  courses: Course[];
  start_pull?: StartPull;
}

export interface PullResult {
  course: string;
  lab: string;
  version?: number;
  previous_version?: number;
  kept?: string[];
  written?: string[];
  error?: string;
}

export interface PublishForm {
  course: string;
  name: string;
  folder: string;
  title: string;
  due: string | null;
}

export interface CoursesState {
  me: Me | null;
  busy: boolean;
  message: string;
  error: boolean;
  currentFolder: string;
}

export interface CoursesActions {
  refresh(): void;
  pull(): void;
  handIn(course: string, lab: string): void;
  publish(form: PublishForm): void;
}

/** One line per lab of a pull: what changed, and which of the user's edits were kept. */
export function summarisePull(results: PullResult[]): string[] {
  return results.map(r => {
    const _ = trans();
    const name = `${r.course}/${r.lab}`;
    if (r.error) {
      return _.__('%1: not pulled (%2)', name, r.error);
    }
    const parts: string[] = [];
    const written = r.written ?? [];
    parts.push(written.length ? _.__('%1 file(s) updated', written.length) : _.__('up to date'));
    if (r.kept && r.kept.length) {
      parts.push(_.__('kept your edits in %1', r.kept.join(', ')));
    }
    return _.__('%1 (version %2): %3', name, r.version ?? '?', parts.join('; '));
  });
}

function roleName(course: Course): string {
  const _ = trans();
  return course.role === 'instructor' ? _.__('instructor') : _.__('student');
}

function locale(): string | undefined {
  return languageTag();
}

export function dueText(iso: string | null, now: Date = new Date()): string {
  const _ = trans();
  if (!iso) {
    return _.__('no due date');
  }
  const due = new Date(iso);
  const when = due.toLocaleString(locale());
  return due.getTime() < now.getTime() ? _.__('due %1 (past)', when) : _.__('due %1', when);
}

/** One line per reservation: how many slices, when, and how many members hold one. */
export function reservationText(r: Reservation): string {
  const _ = trans();
  const start = new Date(r.start).toLocaleString(locale());
  const end = new Date(r.end).toLocaleString(locale());
  return _.__(
    '%1 x %2 reserved for this course, %3 to %4 (%5 in use)',
    r.count,
    r.slice,
    start,
    end,
    r.claimed
  );
}

function labItem(course: Course, lab: Lab, actions: CoursesActions, busy: boolean): HTMLElement {
  const _ = trans();
  const local = lab.local;
  const status =
    local && local.pulled_version
      ? _.__('you have version %1 of %2', local.pulled_version, lab.version)
      : _.__('not in your home yet: pull');
  const item = h(
    'li',
    { class: 'sandbox-Lab', 'data-course': course.name, 'data-lab': lab.name },
    h('div', { class: 'sandbox-Lab-title' }, `${lab.title} (${course.name}/${lab.name})`),
    h('div', { class: 'sandbox-Lab-meta' }, `${dueText(lab.due_iso)} · ${status}`)
  );
  if (local && local.edited.length) {
    item.append(
      h('div', { class: 'sandbox-Lab-edited' }, _.__('edited by you: %1', local.edited.join(', ')))
    );
  }
  if (course.role === 'student') {
    const last = (lab.my_submissions ?? [])[0];
    item.append(
      h(
        'div',
        { class: 'sandbox-Lab-handin' },
        last
          ? last.late
            ? _.__('handed in %1 (late)', new Date(last.submitted_iso).toLocaleString(locale()))
            : _.__('handed in %1', new Date(last.submitted_iso).toLocaleString(locale()))
          : _.__('not handed in')
      )
    );
    const button = h(
      'button',
      {
        class: 'jp-mod-styled jp-mod-accept',
        'data-action': 'handin',
        'data-course': course.name,
        'data-lab': lab.name,
        disabled: busy
      },
      _.__('Hand in')
    );
    button.addEventListener('click', () => actions.handIn(course.name, lab.name));
    item.append(button);
  } else {
    item.append(
      h(
        'div',
        { class: 'sandbox-Lab-handin' },
        _.__('%1 students handed in', lab.students_handed_in ?? 0)
      )
    );
  }
  return item;
}

function publishForm(courses: Course[], state: CoursesState, actions: CoursesActions): HTMLElement {
  const _ = trans();
  const course = h(
    'select',
    { name: 'course' },
    ...courses.map(c => h('option', { value: c.name }, c.name))
  ) as HTMLSelectElement;
  const name = h('input', {
    name: 'name',
    placeholder: _.__('lab name, e.g. lab2')
  }) as HTMLInputElement;
  const folder = h('input', { name: 'folder', value: state.currentFolder }) as HTMLInputElement;
  const title = h('input', {
    name: 'title',
    placeholder: _.__('title (optional)')
  }) as HTMLInputElement;
  const due = h('input', { name: 'due', type: 'datetime-local' }) as HTMLInputElement;
  const submit = h(
    'button',
    { type: 'submit', class: 'jp-mod-styled jp-mod-accept', disabled: state.busy },
    _.__('Publish')
  );
  const form = h(
    'form',
    { class: 'sandbox-Publish' },
    h('h3', {}, _.__('Publish a folder as a lab')),
    h('label', {}, _.__('course') + ' ', course),
    h('label', {}, _.__('folder') + ' ', folder),
    h('label', {}, _.__('lab') + ' ', name),
    h('label', {}, _.__('title') + ' ', title),
    h('label', {}, _.__('due') + ' ', due),
    submit
  );
  form.addEventListener('submit', event => {
    event.preventDefault();
    actions.publish({
      course: course.value,
      name: name.value.trim(),
      folder: folder.value.trim(),
      title: title.value.trim(),
      due: due.value ? new Date(due.value).toISOString() : null
    });
  });
  return form;
}

export function renderCoursesPanel(
  node: HTMLElement,
  state: CoursesState,
  actions: CoursesActions
): void {
  const _ = trans();
  const pull = h(
    'button',
    { class: 'jp-mod-styled', 'data-action': 'pull', disabled: state.busy },
    _.__('Pull updates')
  );
  pull.addEventListener('click', () => actions.pull());
  const refresh = h(
    'button',
    { class: 'jp-mod-styled', 'data-action': 'refresh', disabled: state.busy },
    _.__('Refresh')
  );
  refresh.addEventListener('click', () => actions.refresh());
  const children: HTMLElement[] = [
    h('h2', {}, _.__('Course labs')),
    h('div', { class: 'sandbox-Actions' }, pull, refresh)
  ];
  if (state.message) {
    children.push(
      h(
        'pre',
        { class: state.error ? 'sandbox-Message sandbox-Error' : 'sandbox-Message' },
        state.message
      )
    );
  }
  const me = state.me;
  const startPull = me?.start_pull;
  if (startPull && startPull.state !== 'none') {
    const failed = startPull.state === 'failed';
    children.push(
      h(
        'p',
        {
          class: failed ? 'sandbox-StartPull sandbox-Error' : 'sandbox-StartPull',
          'data-start-pull': startPull.state
        },
        failed
          ? _.__('%1 Press "Pull updates" to try again.', startPull.message)
          : _.__("At this server's start: %1", startPull.message)
      )
    );
  }
  if (!me) {
    children.push(h('p', {}, state.error ? '' : _.__('Loading ...')));
  } else if (!me.courses.length) {
    children.push(h('p', {}, _.__('You are not in any course.')));
  } else {
    for (const course of me.courses) {
      children.push(
        h(
          'section',
          { class: 'sandbox-Course', 'data-course': course.name, 'data-role': course.role },
          h('h3', {}, `${course.name} (${roleName(course)})`),
          course.labs.length
            ? h('ul', {}, ...course.labs.map(lab => labItem(course, lab, actions, state.busy)))
            : h('p', {}, _.__('No labs published yet.')),
          ...(course.reservations ?? []).map(r =>
            h(
              'p',
              { class: 'sandbox-Reservation', 'data-reservation': String(r.id) },
              reservationText(r)
            )
          )
        )
      );
    }
    const teaching = me.courses.filter(c => c.role === 'instructor');
    if (teaching.length) {
      children.push(publishForm(teaching, state, actions));
    }
  }
  node.replaceChildren(...children);
}
