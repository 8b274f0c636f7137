// simplebb under pm2: the master and a builder, both from the compiled dist/ (run `npm ci` or `npm run build` first).
//
//   pm2 start examples/pm2/ecosystem.config.cjs                      # both
//   pm2 start examples/pm2/ecosystem.config.cjs --only simplebb-clientd   # a builder-only host
//   pm2 stop simplebb-clientd         # graceful: running builds get --shutdown-grace to finish
//   pm2 startup && pm2 save           # start them at boot (pm2's own systemd unit)
//
// The file is CommonJS (.cjs) because package.json says "type": "module". Paths are relative to the checkout this
// file sits in; if you copy it elsewhere, set ROOT. Everything runs as the user who runs pm2, so the default
// directories are that user's ~/.simplebb/... (see docs/OPERATIONS.md).
//
// Environment: every flag has a SIMPLEBB_* variable (README.md, "CLI reference"). Leave a variable out rather than
// setting it to an empty string. On/off variables (SIMPLEBB_IGNORE_UNKNOWN, SIMPLEBB_TLS, SIMPLEBB_INSECURE) are on
// for '1', 'true', 'yes' or 'on' and off for anything else.
//
// Run pm2 as an unprivileged user: clientd refuses to run as root (exit status 78, which stop_exit_codes then
// leaves stopped). Tokens: point the *_TOKEN_FILE variables at files of mode 600 rather than putting tokens in env,
// which pm2 shows and saves in ~/.pm2/dump.pm2. A master listening beyond 127.0.0.1 needs both tokens.
//
// Stopping: pm2 sends SIGINT (not SIGTERM) and SIGKILL after kill_timeout ms. Both daemons treat SIGINT exactly
// like SIGTERM. kill_timeout must exceed the daemon's own shutdown deadline:
//   masterd: exits within 5 s (hard deadline 4.9 s)                      -> 10 s
//   clientd: shutdown-grace + 2 x kill-grace + 6 s (30 + 20 + 6 = 56 s)  -> 70 s
// If you raise SIMPLEBB_SHUTDOWN_GRACE or SIMPLEBB_KILL_GRACE below, kill_timeout follows.
//
// pm2's own logs (~/.pm2/logs/<name>-out.log / -error.log) then only hold start-up errors: the JSON logs go to
// SIMPLEBB_LOG. Rotate those with logrotate, either with copytruncate or by renaming and then running
// `pm2 sendSignal SIGHUP simplebb-masterd` (and -clientd): SIGHUP makes a daemon reopen its log, and pm2 sends it
// to the daemon alone, not to builds (docs/OPERATIONS.md, "Log rotation").

const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const HOME = path.join(os.homedir(), '.simplebb');

// A root pm2 would start clientd as root, which it refuses (exit 78): say so once, here, instead of a clientd that
// pm2 keeps listed as errored. SIMPLEBB_ALLOW_ROOT=1 (a throwaway container) lets it through, as it does clientd.
if (process.getuid && process.getuid() === 0 && !/^(1|true|yes|on)$/i.test(process.env.SIMPLEBB_ALLOW_ROOT || '')) {
  throw new Error('simplebb: run pm2 as an unprivileged user: simplebb-clientd refuses to run builds as root (or set SIMPLEBB_ALLOW_ROOT=1 in a throwaway container)');
}

// Seconds, as the programs take them.
const SHUTDOWN_GRACE = 30;
const KILL_GRACE = 10;

module.exports = {
  apps: [
    {
      name: 'simplebb-masterd',
      cwd: ROOT,
      script: path.join(ROOT, 'dist', 'masterd.js'),
      exec_mode: 'fork',
      instances: 1, // one master per database; never cluster mode
      autorestart: true,
      exp_backoff_restart_delay: 1000, // 1 s, growing on repeated crashes
      stop_exit_codes: [2, 78], // 2: a bad flag or environment value; 78: a configuration it cannot run with
      kill_timeout: 10_000,
      env: {
        SIMPLEBB_HOST: '127.0.0.1', // 0.0.0.0 (or one interface's address) to accept builders from other hosts
        SIMPLEBB_PORT: '7900',
        SIMPLEBB_DATA: path.join(HOME, 'master'),
        SIMPLEBB_LOG: path.join(HOME, 'log', 'masterd.log'),
        SIMPLEBB_LOG_LEVEL: 'info',
        SIMPLEBB_HEARTBEAT: '10',
        SIMPLEBB_REPLAY_WINDOW: '600',
        SIMPLEBB_HELLO_TIMEOUT: '5',
        SIMPLEBB_MAX_CONNS_PER_ADDRESS: '256',
        SIMPLEBB_SUGGEST_RATE: '20',
        SIMPLEBB_SUGGEST_BURST: '1000',
        // Required together before SIMPLEBB_HOST may leave loopback (two different tokens):
        // SIMPLEBB_BUILDER_TOKEN_FILE: path.join(HOME, 'builder.secret'), // builders get `simplebb-masterd token builder NAME`
        // SIMPLEBB_SUGGEST_TOKEN_FILE: path.join(HOME, 'suggest.token'),
        // SIMPLEBB_TLS_CERT: path.join(HOME, 'master.crt'),
        // SIMPLEBB_TLS_KEY: path.join(HOME, 'master.key'),
      },
    },
    {
      name: 'simplebb-clientd',
      cwd: ROOT,
      script: path.join(ROOT, 'dist', 'clientd.js'),
      exec_mode: 'fork',
      instances: 1, // one clientd per state dir (it is locked); for more parallel builds raise SIMPLEBB_JOBS
      autorestart: true,
      exp_backoff_restart_delay: 1000,
      stop_exit_codes: [2, 78],
      kill_timeout: (SHUTDOWN_GRACE + 2 * KILL_GRACE + 6 + 14) * 1000, // 70 s: clientd's own deadline plus a margin
      // pm2 normally signals the whole process tree (treekill), which would send SIGINT straight to the build
      // processes and kill them at once. With treekill off only clientd gets the signal; it gives running builds
      // their grace period and then ends their process groups itself. (If pm2 ever has to SIGKILL clientd, the
      // builds it leaves behind are killed and reported lost (exit status unseen) when clientd next starts, on Linux.)
      treekill: false,
      env: {
        SIMPLEBB_MASTER: '127.0.0.1:7900', // HOST[:PORT] of the master; [::1]:7900 for IPv6
        // SIMPLEBB_NAME: 'builder-1',     // default: this host's name
        SIMPLEBB_SCRIPTS: path.join(HOME, 'buildscripts'),
        SIMPLEBB_WORK: path.join(HOME, 'work'),
        SIMPLEBB_STATE: path.join(HOME, 'state'),
        SIMPLEBB_LOG: path.join(HOME, 'log', 'clientd.log'),
        SIMPLEBB_LOG_LEVEL: 'info',
        SIMPLEBB_JOBS: '1',
        SIMPLEBB_TIMEOUT: '3600',
        SIMPLEBB_KILL_GRACE: String(KILL_GRACE),
        SIMPLEBB_SHUTDOWN_GRACE: String(SHUTDOWN_GRACE),
        SIMPLEBB_HEARTBEAT: '10',
        SIMPLEBB_RECONNECT_BASE: '1',
        SIMPLEBB_RECONNECT_MAX: '60',
        // SIMPLEBB_IGNORE_UNKNOWN: '1',
        // SIMPLEBB_BUILDER_TOKEN_FILE: path.join(HOME, 'builder.token'), // if the master requires it
        // SIMPLEBB_TLS_CA: path.join(HOME, 'ca.crt'),                   // TLS trusting this CA; or SIMPLEBB_TLS: '1'
      },
    },
  ],
};
