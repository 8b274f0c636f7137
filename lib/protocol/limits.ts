// The protocol's numbers: version, default address and limits. No dependencies, so the command-line client loads fast.

export const PROTOCOL_VERSION = 2;
export const DEFAULT_PORT = 7900;
export const DEFAULT_HOST = '127.0.0.1';
/** The longest line anyone may send, in bytes, newline excluded. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Longest `data` string in one output or report-output message, in UTF-16 code units; keeps every line under MAX_LINE_BYTES however it escapes. */
export const MAX_CHUNK_CHARS = 128 * 1024;
/** How deeply a message's JSON may nest (arrays and objects); no message nests deeper than three. */
export const MAX_NESTING = 32;
/** The most raw bytes one `output` message carries after its line (a pipe read is at most 64 KiB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** The message types whose line is followed by `bytes` raw bytes, which arrive as the message's `data`. */
export const PAYLOAD_TYPES: ReadonlySet<string> = new Set(['output']);
/** The most of a build's kept output (its last lines) a waiting suggester gets with a verdict that is not success. */
export const TAIL_MAX_CHARS = 2048;
/** A report keeps the first and the last this many bytes of a build's output. */
export const REPORT_KEEP_BYTES = 512 * 1024;
/** The most report-output chunks one report may have (covers 2 × REPORT_KEEP_BYTES plus the cut marker). */
export const MAX_REPORT_CHUNKS = 16;
/** The most projects one builder may announce (4096 names of 128 bytes stay under MAX_LINE_BYTES). */
export const MAX_PROJECTS = 4096;
/** The most builder names an accepted message lists; `count` always has the full number. */
export const MAX_LISTED_BUILDERS = 4096;
/** The most orders the master replays to a returning builder; the older ones it was owed beyond that are given `refused`. */
export const MAX_REPLAY = 1000;

/** `one` order ids named in one `received` (a builder with more in one batch sends several). */
export const MAX_RECEIVED_IDS = 1000;
/** The most times a `one` build lost with its builder is offered to another one. */
export const MAX_RETRIES = 10;
