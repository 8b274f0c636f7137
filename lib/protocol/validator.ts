// The shape every message check has, zod-based (master) or hand-written (clients): the typed message, or one line naming what is wrong.

/** Checks a decoded JSON object that has a string `type`. */
export type Validator<T> = (value: Record<string, unknown> & { type: string }) => { ok: true; message: T } | { ok: false; problem: string };
