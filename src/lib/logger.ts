import { type DestinationStream, type Logger, pino } from 'pino';

const REDACTED_HEADERS = [
  'authorization',
  'cookie',
  'x-freescout-signature',
  'x-postmark-webhook-token',
  'cf-access-jwt-assertion',
  'x-freescout-api-key',
];

const REDACT_PATHS = REDACTED_HEADERS.flatMap((header) => [
  `req.headers["${header}"]`,
  `headers["${header}"]`,
  `request.headers["${header}"]`,
]);

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * pino with sensitive headers redacted by path and, as a last line of defence, every
 * configured secret value scrubbed from each line wherever it appears (an error message
 * quoting a URL, a client echoing a header). Longest first, so a secret containing another
 * is scrubbed whole.
 */
export function createLogger(
  options: { level: string; secretValues: readonly string[] },
  destination?: DestinationStream,
): Logger {
  const secrets = [...new Set(options.secretValues)].sort((a, b) => b.length - a.length);
  const scrubbable = secrets.flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]);
  const secretPattern = secrets.length
    ? new RegExp([...new Set(scrubbable)].map(escapeRegExp).join('|'), 'g')
    : undefined;
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: secretPattern
        ? { streamWrite: (line: string) => line.replace(secretPattern, '[REDACTED]') }
        : {},
    },
    destination,
  );
}
