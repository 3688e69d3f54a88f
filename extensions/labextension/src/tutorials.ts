// The tutorials' merge at this server's start (GET api/sandbox/tutorials): what, if
// anything, JupyterLab tells the user about it.

export interface TutorialsStatus {
  state: 'none' | 'running' | 'done' | 'failed';
  message: string;
  written?: string[];
  kept?: string[];
  /** Names one start's merge (absent when there is none). */
  merge_id?: string;
}

export interface Notice {
  kind: 'error' | 'info';
  message: string;
}

/** A failure always; a merge that brought files (the first copy, or a new version,
 * saying which of the user's edits it kept); nothing when nothing changed, so an edit
 * the user keeps is not announced at every start. */
export function tutorialsNotice(status: TutorialsStatus): Notice | null {
  if (status.state === 'failed') {
    return { kind: 'error', message: status.message };
  }
  if (status.state === 'done' && (status.written ?? []).length) {
    return { kind: 'info', message: status.message };
  }
  return null;
}

/** The key under which the browser remembers the last merge it announced. */
export const ANNOUNCED_KEY = 'sandbox-labextension:tutorials-announced';

/** Whether an info notice for this merge is still to be shown: once per merge, not at
 * every reload of the page (failures are shown at every load: they need action). */
export function firstAnnouncement(status: TutorialsStatus, store: Pick<Storage, 'getItem' | 'setItem'>): boolean {
  if (!status.merge_id) {
    return true;
  }
  if (store.getItem(ANNOUNCED_KEY) === status.merge_id) {
    return false;
  }
  store.setItem(ANNOUNCED_KEY, status.merge_id);
  return true;
}
