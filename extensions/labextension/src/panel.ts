// The slice panel: live memory and utilisation of this server's slice, time and
// GPU-hours left, and the warnings (most urgent first).

import { h } from './dom';
import { trans } from './i18n';
import {
  SliceInfo,
  formatBytes,
  formatDuration,
  isGpu,
  memoryFraction,
  secondsLeft,
  worstLevel
} from './model';

function meter(fraction: number | null, label: string, kind: string): HTMLElement {
  const bar = h('div', { class: 'sandbox-Meter-bar' });
  bar.style.width = `${Math.round((fraction ?? 0) * 100)}%`;
  return h(
    'div',
    { class: 'sandbox-Meter', 'data-kind': kind },
    h('div', { class: 'sandbox-Meter-track' }, bar),
    h('span', { class: 'sandbox-Meter-label' }, label)
  );
}

function row(name: string, value: Node | string, key: string): HTMLElement {
  return h('tr', { 'data-field': key }, h('th', {}, name), h('td', {}, value));
}

export interface PanelState {
  info: SliceInfo | null;
  error: string | null;
  fetchedAtMs: number;
}

export function renderSlicePanel(node: HTMLElement, state: PanelState, nowMs: number): void {
  const _ = trans();
  const children: HTMLElement[] = [h('h2', {}, _.__('Your GPU slice'))];
  if (state.error) {
    children.push(h('p', { class: 'sandbox-Error' }, state.error));
  }
  const info = state.info;
  if (!info) {
    children.push(h('p', {}, state.error ? '' : _.__('Reading the slice ...')));
    node.replaceChildren(...children);
    return;
  }
  const used = info.memory_used_bytes;
  const memory = isGpu(info)
    ? meter(
        memoryFraction(info),
        used === null
          ? _.__('%1 (use not measured)', formatBytes(info.memory_total_bytes))
          : _.__('%1 of %2', formatBytes(used), formatBytes(info.memory_total_bytes)),
        'memory'
      )
    : _.__('no GPU memory');
  const util = info.utilisation_percent;
  const utilisation = isGpu(info)
    ? meter(
        util === null ? null : util / 100,
        util === null ? _.__('not measured') : `${Math.round(util)}%`,
        'utilisation'
      )
    : '-';
  const left = secondsLeft(info, state.fetchedAtMs, nowMs);
  const hoursLeft = info.budget.gpu_hours_left;
  const table = h(
    'table',
    { class: 'sandbox-SliceTable' },
    row(_.__('Slice'), info.profile || _.__('none'), 'profile'),
    row(_.__('Image'), info.image || '?', 'image'),
    row(_.__('Device'), info.device_uuid || '-', 'device'),
    row(_.__('Memory'), memory, 'memory'),
    row(_.__('Utilisation'), utilisation, 'utilisation'),
    row(
      _.__('Session'),
      left === null ? _.__('no time limit') : _.__('%1 left', formatDuration(left)),
      'session'
    ),
    row(
      _.__('GPU-hours'),
      hoursLeft === null
        ? _.__('%1 used this session', info.budget.gpu_hours_used_this_session.toFixed(2))
        : info.budget.team
          ? _.__('%1 left for team %2', hoursLeft.toFixed(1), info.budget.team)
          : _.__('%1 left', hoursLeft.toFixed(1)),
      'budget'
    )
  );
  children.push(table);
  if (info.simulated) {
    children.push(
      h(
        'p',
        { class: 'sandbox-Simulated' },
        _.__(
          'Simulated slice: this hub has no real GPU, so memory and utilisation are not measured.'
        )
      )
    );
  }
  const level = worstLevel(info.warnings);
  if (level) {
    children.push(
      h(
        'ul',
        { class: `sandbox-Warnings sandbox-level-${level}` },
        ...info.warnings.map(w => h('li', { 'data-level': w.level, 'data-code': w.code }, w.message))
      )
    );
  }
  if (info.next_slice_up) {
    children.push(
      h(
        'p',
        { class: 'sandbox-Hint' },
        _.__('Out of GPU memory? Start your next server with %1.', info.next_slice_up)
      )
    );
  }
  node.replaceChildren(...children);
}
