// The extension's texts go through JupyterLab's translation API in the extension's own
// domain; its Korean catalogue is shipped in the Python package (locale/, the
// `jupyterlab.locale` entry point). Until the plugin is activated (and in unit tests) the
// texts are the English msgids.

import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';

export const DOMAIN = 'sandbox_labextension';

/** The msgids themselves, placeholders (%1, %2, ...) filled as JupyterLab's bundles do;
 * a type-only import keeps the unit tests free of JupyterLab's ES modules. */
const english = {
  __: (msgid: string, ...args: unknown[]) =>
    msgid.replace(/%(\d+)/g, (whole, n) => (Number(n) <= args.length ? String(args[Number(n) - 1]) : whole))
} as unknown as TranslationBundle;

let bundle: TranslationBundle = english;
let tag: string | undefined;

/** Use the application's translator (its locale is JupyterLab's language setting). */
export function useTranslator(translator: ITranslator): void {
  bundle = translator.load(DOMAIN);
  const code = translator.languageCode;
  tag = code && code !== 'en' ? code : undefined;
}

/** The current bundle: `trans().__('text %1', value)`. */
export function trans(): TranslationBundle {
  return bundle;
}

/** The language the texts are in (BCP 47, e.g. ko-KR), for dates; undefined: the
 * browser's own. */
export function languageTag(): string | undefined {
  return tag;
}
