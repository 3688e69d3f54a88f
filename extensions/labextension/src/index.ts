// AI Sandbox Hub in JupyterLab: the slice in the status bar, a live slice panel (right
// sidebar), the Course labs panel (left sidebar), and a notification of how the
// tutorials' merge at the server's start went.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { post, requestAPI } from './api';
import {
  CoursesState,
  Me,
  PublishForm,
  PullResult,
  renderCoursesPanel,
  summarisePull
} from './courses';
import { SliceInfo, parseSliceInfo, secondsLeft, statusText, worstLevel } from './model';
import { languageTag, trans, useTranslator } from './i18n';
import { PanelState, renderSlicePanel } from './panel';
import { TutorialsStatus, firstAnnouncement, tutorialsNotice } from './tutorials';

const POLL_MS = 5000;
/** How often, and how many times, a merge or pull still running at the server's start is
 * asked about again (both run beside the start and usually end within seconds). */
const START_POLL_MS = 2000;
const START_POLL_TRIES = 60;

const gpuIcon = new LabIcon({
  name: 'sandbox-labextension:gpu',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M3 7h18v10H3zM5 9v6h14V9zM7 10h2v4H7zm4 0h2v4h-2zm4 0h2v4h-2zM6 17h2v2H6zm10 0h2v2h-2z"/>' +
    '</g></svg>'
});

const labsIcon = new LabIcon({
  name: 'sandbox-labextension:labs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M12 3 1 9l11 6 9-4.9V17h2V9zM5 13.2v4L12 21l7-3.8v-4L12 17z"/></g></svg>'
});

function sliceFeature(app: JupyterFrontEnd, statusBar: IStatusBar): void {
  const _ = trans();
  const panel = new Widget();
  panel.id = 'sandbox-slice-panel';
  panel.addClass('sandbox-SlicePanel');
  panel.title.icon = gpuIcon;
  panel.title.caption = _.__('Your GPU slice');
  app.shell.add(panel, 'right', { rank: 900 });

  const status = new Widget();
  status.id = 'sandbox-slice-status';
  status.addClass('sandbox-SliceStatus');
  status.node.title = _.__('Your GPU slice: click for memory, utilisation and warnings');
  status.node.textContent = _.__('Slice ...');
  status.node.addEventListener('click', () => app.shell.activateById(panel.id));
  statusBar.registerStatusItem('sandbox-labextension:slice', {
    item: status,
    align: 'left',
    rank: 50
  });

  const state: PanelState = { info: null, error: null, fetchedAtMs: Date.now() };
  const draw = () => {
    const now = Date.now();
    renderSlicePanel(panel.node, state, now);
    const info = state.info;
    if (!info) {
      status.node.textContent = state.error ? _.__('Slice: unavailable') : _.__('Slice ...');
      return;
    }
    status.node.textContent = statusText(info, secondsLeft(info, state.fetchedAtMs, now));
    status.node.dataset.slice = info.profile;
    status.node.dataset.simulated = String(info.simulated);
    status.node.dataset.level = worstLevel(info.warnings) ?? '';
  };
  const poll = async () => {
    if (document.hidden && state.info) {
      return;
    }
    try {
      state.info = parseSliceInfo(await requestAPI<SliceInfo>('slice'));
      state.error = null;
      state.fetchedAtMs = Date.now();
    } catch (e) {
      state.error = _.__('Could not read the slice: %1', (e as Error).message);
    }
    draw();
  };
  app.commands.addCommand('sandbox:open-slice-panel', {
    label: _.__('Show my GPU slice'),
    execute: () => app.shell.activateById(panel.id)
  });
  void poll();
  window.setInterval(() => void poll(), POLL_MS);
}

function coursesFeature(app: JupyterFrontEnd, browser: IDefaultFileBrowser | null): void {
  const _ = trans();
  const panel = new Widget();
  panel.id = 'sandbox-courses';
  panel.addClass('sandbox-CoursesPanel');
  panel.title.icon = labsIcon;
  panel.title.caption = _.__('Course labs');
  app.shell.add(panel, 'left', { rank: 850 });

  const state: CoursesState = {
    me: null,
    busy: false,
    message: '',
    error: false,
    currentFolder: browser ? browser.model.path : ''
  };
  const draw = () => renderCoursesPanel(panel.node, state, actions);
  let startPolls = START_POLL_TRIES;
  let startPollPending = false;
  // While the pull at the server's start runs, its state is read again now and then;
  // a re-read changes only what the service says, never the user's last message.
  const followStartPull = () => {
    if (state.me?.start_pull?.state !== 'running' || startPollPending || startPolls <= 0) {
      return;
    }
    startPolls--;
    startPollPending = true;
    window.setTimeout(() => void reread(), START_POLL_MS);
  };
  const reread = async () => {
    startPollPending = false;
    try {
      state.me = await requestAPI<Me>('courses');
    } catch (e) {
      console.warn('sandbox: could not read the course labs again', e);
    }
    if (!state.busy) {
      draw();
    }
    followStartPull();
  };
  const run = async (what: () => Promise<string>) => {
    state.busy = true;
    draw();
    try {
      state.message = await what();
      state.error = false;
    } catch (e) {
      state.message = (e as Error).message;
      state.error = true;
    }
    try {
      state.me = await requestAPI<Me>('courses');
    } catch (e) {
      if (!state.error) {
        state.message = (e as Error).message;
        state.error = true;
      }
    }
    state.busy = false;
    draw();
    if (browser) {
      void browser.model.refresh();
    }
    followStartPull();
  };
  const actions = {
    refresh: () => void run(async () => ''),
    pull: () =>
      void run(async () => {
        const reply = await post<{ results: PullResult[] }>('courses/pull', {});
        return summarisePull(reply.results).join('\n') || _.__('No labs to pull.');
      }),
    handIn: (course: string, lab: string) =>
      void run(async () => {
        const record = await post<{ submitted_iso: string; late: boolean }>('courses/handin', {
          course,
          lab
        });
        const when = new Date(record.submitted_iso).toLocaleString(languageTag());
        return record.late
          ? _.__('Handed in %1 at %2 (late).', `${course}/${lab}`, when)
          : _.__('Handed in %1 at %2.', `${course}/${lab}`, when);
      }),
    publish: (form: PublishForm) =>
      void run(async () => {
        const meta = await post<{ name: string; version: number; files: string[] }>(
          'courses/publish',
          form
        );
        return _.__(
          'Published %1 version %2 (%3 files).',
          `${form.course}/${meta.name}`,
          meta.version,
          meta.files.length
        );
      })
  };
  if (browser) {
    browser.model.pathChanged.connect(() => {
      state.currentFolder = browser.model.path;
      if (!state.busy) {
        draw();
      }
    });
  }
  app.commands.addCommand('sandbox:pull-labs', {
    label: _.__('Pull course lab updates'),
    execute: () => actions.pull()
  });
  actions.refresh();
}

function tutorialsFeature(): void {
  const check = async (tries: number): Promise<void> => {
    let status: TutorialsStatus;
    try {
      status = await requestAPI<TutorialsStatus>('tutorials');
    } catch (e) {
      console.warn('sandbox: could not read the tutorials status', e);
      return;
    }
    if (status.state === 'running' && tries > 0) {
      window.setTimeout(() => void check(tries - 1), START_POLL_MS);
      return;
    }
    const notice = tutorialsNotice(status);
    if (notice?.kind === 'error') {
      // Stays until dismissed: the user should know their tutorials are not current.
      Notification.error(notice.message, { autoClose: false });
    } else if (notice && firstAnnouncement(status, window.localStorage)) {
      Notification.info(notice.message, { autoClose: 8000 });
    }
  };
  void check(START_POLL_TRIES);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'sandbox-labextension:plugin',
  description:
    'The GPU slice in the status bar, a live slice panel, course labs, and the tutorials.',
  autoStart: true,
  requires: [IStatusBar],
  optional: [IDefaultFileBrowser, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar,
    browser: IDefaultFileBrowser | null,
    translator: ITranslator | null
  ) => {
    if (translator) {
      useTranslator(translator);
    }
    sliceFeature(app, statusBar);
    coursesFeature(app, browser);
    tutorialsFeature();
  }
};

export default plugin;
