// The slice as the server extension reports it (GET api/sandbox/slice), and the pure
// functions that turn it into what the status bar and the panel show.

import { trans } from './i18n';

export type Level = 'critical' | 'warning' | 'info';

export interface SliceWarning {
  code: string;
  level: Level;
  message: string;
}

export interface SliceInfo {
  profile: string;
  image: string;
  device_uuid: string;
  simulated: boolean;
  memory_total_bytes: number;
  memory_used_bytes: number | null;
  utilisation_percent: number | null;
  source: string;
  session: {
    started_at: number;
    elapsed_seconds: number;
    ends_at: number | null;
    seconds_left: number | null;
  };
  budget: {
    team: string | null;
    weight: number;
    gpu_hours_used_this_session: number;
    gpu_hours_left: number | null;
    gpu_hours_budget: number | null;
  };
  next_slice_up: string | null;
  warnings: SliceWarning[];
}

const LEVELS: Level[] = ['critical', 'warning', 'info'];

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A SliceInfo from whatever JSON came back: missing or wrong fields become empty. */
export function parseSliceInfo(raw: unknown): SliceInfo {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, any>;
  const session = (o.session && typeof o.session === 'object' ? o.session : {}) as Record<
    string,
    unknown
  >;
  const budget = (o.budget && typeof o.budget === 'object' ? o.budget : {}) as Record<
    string,
    unknown
  >;
  const warnings = Array.isArray(o.warnings) ? o.warnings : [];
  return {
    profile: str(o.profile),
    image: str(o.image),
    device_uuid: str(o.device_uuid),
    simulated: o.simulated === true,
    memory_total_bytes: num(o.memory_total_bytes) ?? 0,
    memory_used_bytes: num(o.memory_used_bytes),
    utilisation_percent: num(o.utilisation_percent),
    source: str(o.source),
    session: {
      started_at: num(session.started_at) ?? 0,
      elapsed_seconds: num(session.elapsed_seconds) ?? 0,
      ends_at: num(session.ends_at),
      seconds_left: num(session.seconds_left)
    },
    budget: {
      team: typeof budget.team === 'string' ? budget.team : null,
      weight: num(budget.weight) ?? 0,
      gpu_hours_used_this_session: num(budget.gpu_hours_used_this_session) ?? 0,
      gpu_hours_left: num(budget.gpu_hours_left),
      gpu_hours_budget: num(budget.gpu_hours_budget)
    },
    next_slice_up: typeof o.next_slice_up === 'string' ? o.next_slice_up : null,
    warnings: warnings
      .filter((w: any) => w && typeof w.message === 'string')
      .map((w: any) => ({
        code: str(w.code),
        level: LEVELS.includes(w.level) ? w.level : 'info',
        message: w.message
      }))
  };
}

/** Slices are sold in decimal gigabytes (a 1g.10gb holds 10 GB). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) {
    return '?';
  }
  const gb = bytes / 1e9;
  if (gb >= 10 || Number.isInteger(gb)) {
    return `${Math.round(gb)} GB`;
  }
  return `${gb.toFixed(1)} GB`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return trans().__('%1 s', s);
  }
  const minutes = Math.floor(s / 60);
  if (minutes < 60) {
    return trans().__('%1 min', minutes);
  }
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return trans().__('%1 h %2 min', h, m.toString().padStart(2, '0'));
}

export function memoryFraction(info: SliceInfo): number | null {
  if (info.memory_used_bytes === null || !info.memory_total_bytes) {
    return null;
  }
  return Math.min(1, Math.max(0, info.memory_used_bytes / info.memory_total_bytes));
}

/** Seconds left in the session now, counting down from the last reading. */
export function secondsLeft(info: SliceInfo, fetchedAtMs: number, nowMs: number): number | null {
  if (info.session.seconds_left === null) {
    return null;
  }
  return Math.max(0, info.session.seconds_left - (nowMs - fetchedAtMs) / 1000);
}

export function worstLevel(warnings: SliceWarning[]): Level | null {
  for (const level of LEVELS) {
    if (warnings.some(w => w.level === level)) {
      return level;
    }
  }
  return null;
}

export function isGpu(info: SliceInfo): boolean {
  return info.profile !== '' && info.profile !== 'cpu';
}

/** The status bar's text: the slice, and what is worth a glance. */
export function statusText(info: SliceInfo, left: number | null = null): string {
  if (!info.profile) {
    return trans().__('No slice');
  }
  if (!isGpu(info)) {
    return trans().__('cpu (no GPU)');
  }
  const parts = [info.profile];
  if (info.memory_used_bytes !== null) {
    parts.push(
      `${formatBytes(info.memory_used_bytes)} / ${formatBytes(info.memory_total_bytes)}`
    );
  } else if (info.memory_total_bytes) {
    parts.push(formatBytes(info.memory_total_bytes));
  }
  if (info.utilisation_percent !== null) {
    parts.push(`${Math.round(info.utilisation_percent)}%`);
  }
  if (info.simulated) {
    parts.push(trans().__('simulated'));
  }
  if (left !== null) {
    parts.push(trans().__('%1 left', formatDuration(left)));
  }
  return parts.join(' · ');
}
