import {
  formatBytes,
  formatDuration,
  memoryFraction,
  parseSliceInfo,
  secondsLeft,
  statusText,
  worstLevel
} from '../model';

const real = {
  profile: '1g.10gb',
  image: 'vision',
  device_uuid: 'MIG-1',
  simulated: false,
  memory_total_bytes: 10e9,
  memory_used_bytes: 2.1e9,
  utilisation_percent: 34.6,
  session: { started_at: 0, elapsed_seconds: 60, ends_at: 4000, seconds_left: 1800 },
  budget: { team: 'acme', weight: 1 / 7, gpu_hours_used_this_session: 0.01, gpu_hours_left: 12.5 },
  warnings: [
    { code: 'memory-high', level: 'warning', message: 'GPU memory is 91% full.' },
    { code: 'session-ending', level: 'critical', message: 'ends soon' }
  ],
  next_slice_up: '1g.20gb'
};

describe('parseSliceInfo', () => {
  it('keeps the fields of a full reply', () => {
    const info = parseSliceInfo(real);
    expect(info.profile).toBe('1g.10gb');
    expect(info.memory_used_bytes).toBe(2.1e9);
    expect(info.budget.gpu_hours_left).toBe(12.5);
    expect(info.budget.gpu_hours_budget).toBeNull();
    expect(info.warnings).toHaveLength(2);
    expect(info.next_slice_up).toBe('1g.20gb');
  });

  it('turns garbage into an empty slice instead of throwing', () => {
    const info = parseSliceInfo({ memory_used_bytes: 'lots', warnings: [{ level: 'x' }, null] });
    expect(info.profile).toBe('');
    expect(info.memory_used_bytes).toBeNull();
    expect(info.warnings).toEqual([]);
    expect(parseSliceInfo(null).session.seconds_left).toBeNull();
  });

  it('maps an unknown warning level to info', () => {
    const info = parseSliceInfo({ warnings: [{ code: 'c', level: 'loud', message: 'm' }] });
    expect(info.warnings[0].level).toBe('info');
  });
});

describe('formatting', () => {
  it('formats decimal gigabytes as slices are sold', () => {
    expect(formatBytes(10e9)).toBe('10 GB');
    expect(formatBytes(2.1e9)).toBe('2.1 GB');
    expect(formatBytes(10468982784)).toBe('10 GB');
    expect(formatBytes(0)).toBe('0 GB');
    expect(formatBytes(null)).toBe('?');
  });

  it('formats durations', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(12 * 60 + 5)).toBe('12 min');
    expect(formatDuration(3600 + 5 * 60)).toBe('1 h 05 min');
    expect(formatDuration(-3)).toBe('0 s');
  });
});

describe('status text', () => {
  it('shows slice, memory, utilisation and time left', () => {
    const info = parseSliceInfo(real);
    expect(statusText(info, 1800)).toBe('1g.10gb · 2.1 GB / 10 GB · 35% · 30 min left');
  });

  it('flags a simulated slice and shows its size when nothing is measured', () => {
    const info = parseSliceInfo({ profile: '3g.40gb', simulated: true, memory_total_bytes: 40e9 });
    expect(statusText(info)).toBe('3g.40gb · 40 GB · simulated');
  });

  it('says cpu plainly', () => {
    expect(statusText(parseSliceInfo({ profile: 'cpu' }))).toBe('cpu (no GPU)');
    expect(statusText(parseSliceInfo({}))).toBe('No slice');
  });
});

describe('live values', () => {
  it('counts the session down from the last reading', () => {
    const info = parseSliceInfo(real);
    expect(secondsLeft(info, 1000, 61000)).toBe(1740);
    expect(secondsLeft(info, 0, 10_000_000)).toBe(0);
    expect(secondsLeft(parseSliceInfo({}), 0, 1)).toBeNull();
  });

  it('computes the memory fraction, clamped', () => {
    expect(memoryFraction(parseSliceInfo(real))).toBeCloseTo(0.21);
    expect(memoryFraction(parseSliceInfo({ memory_total_bytes: 1, memory_used_bytes: 5 }))).toBe(1);
    expect(memoryFraction(parseSliceInfo({ memory_total_bytes: 10 }))).toBeNull();
  });

  it('finds the most urgent warning level', () => {
    expect(worstLevel(parseSliceInfo(real).warnings)).toBe('critical');
    expect(worstLevel([])).toBeNull();
  });
});
