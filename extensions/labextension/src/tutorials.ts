// The tutorials' merge at this server's start (GET api/sandbox/tutorials): what, if
// anything, JupyterLab tells the user about it.

export interface TutorialsStatus {
  state: 'none' | 'running' | 'done' | 'failed';
  message: string;
  written?: string[];
  kept?: string[];
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
