import { parseSliceInfo } from '../model';
import { renderSlicePanel } from '../panel';

function field(node: HTMLElement, key: string): string {
  return node.querySelector(`tr[data-field="${key}"] td`)?.textContent ?? '';
}

describe('renderSlicePanel', () => {
  it('shows a measured slice with meters, time, budget and warnings', () => {
    const node = document.createElement('div');
    const info = parseSliceInfo({
      profile: '1g.10gb',
      image: 'vision',
      device_uuid: 'MIG-1',
      memory_total_bytes: 10e9,
      memory_used_bytes: 9.5e9,
      utilisation_percent: 80,
      session: { seconds_left: 600 },
      budget: { team: 'acme', gpu_hours_left: 3.25 },
      warnings: [{ code: 'memory-high', level: 'warning', message: 'GPU memory is 95% full.' }],
      next_slice_up: '1g.20gb'
    });
    renderSlicePanel(node, { info, error: null, fetchedAtMs: 0 }, 60_000);
    expect(field(node, 'profile')).toBe('1g.10gb');
    expect(field(node, 'memory')).toContain('9.5 GB of 10 GB');
    expect(field(node, 'utilisation')).toContain('80%');
    expect(field(node, 'session')).toBe('9 min left');
    expect(field(node, 'budget')).toBe('3.3 left for team acme');
    const bar = node.querySelector('[data-kind="memory"] .sandbox-Meter-bar') as HTMLElement;
    expect(bar.style.width).toBe('95%');
    const warning = node.querySelector('.sandbox-Warnings li');
    expect(warning?.getAttribute('data-level')).toBe('warning');
    expect(node.querySelector('.sandbox-Hint')?.textContent).toContain('1g.20gb');
    expect(node.querySelector('.sandbox-Simulated')).toBeNull();
  });

  it('says a simulated slice is not measured', () => {
    const node = document.createElement('div');
    const info = parseSliceInfo({ profile: '1g.10gb', simulated: true, memory_total_bytes: 10e9 });
    renderSlicePanel(node, { info, error: null, fetchedAtMs: 0 }, 0);
    expect(field(node, 'memory')).toContain('use not measured');
    expect(field(node, 'utilisation')).toContain('not measured');
    expect(field(node, 'session')).toBe('no time limit');
    expect(node.querySelector('.sandbox-Simulated')?.textContent).toContain('Simulated');
  });

  it('shows an error before the first reading', () => {
    const node = document.createElement('div');
    renderSlicePanel(node, { info: null, error: 'Could not read', fetchedAtMs: 0 }, 0);
    expect(node.querySelector('.sandbox-Error')?.textContent).toBe('Could not read');
  });
});
