import { randomBytes } from 'node:crypto';
import { loadConfigText } from './load.js';
import { tokensFromEnv } from './secrets.js';
import type { LoadResult } from './types.js';

/**
 * The embedded default behind `npm start`: loopback only, so a first run exposes nothing
 * to the network, and plain HTTP, which is acceptable on loopback alone.
 */
const developmentToml = `
[server]
listen_address = "127.0.0.1:8080"
tls = false
management_listen_address = "127.0.0.1:9080"

[output]
type = "stdout"

[logging]
level = "info"
format = "console"

[observability]
metrics_enabled = true
`;

const generatedSensor = 'dev-sensor';

/**
 * The development config. Tokens from LOOM_SENSOR_* are used when present; otherwise a
 * fresh random token for sensor "dev-sensor" is made for this run and returned so the
 * caller can show it once.
 */
export function developmentConfig(env: NodeJS.ProcessEnv): {
  result: LoadResult;
  generated: { sensorId: string; token: string } | undefined;
} {
  if (tokensFromEnv(env).tokens.size > 0) return { result: loadConfigText(developmentToml, { env }), generated: undefined };

  const token = randomBytes(24).toString('base64url');
  const variable = `LOOM_SENSOR_${generatedSensor.replaceAll('-', '_')}`;
  const result = loadConfigText(developmentToml, { env: { ...env, [variable]: token } });
  result.config.auth.token_origins.set(token, 'generated for this development run');
  return { result, generated: { sensorId: generatedSensor, token } };
}

/**
 * The dashboard's admin token in development: LOOM_ADMIN_TOKEN when set, otherwise a fresh
 * random one for this run, to be shown once.
 */
export function developmentAdminToken(env: NodeJS.ProcessEnv): { token: string; generated: boolean } {
  const given = env.LOOM_ADMIN_TOKEN;
  if (given !== undefined && given !== '') return { token: given, generated: false };
  return { token: randomBytes(24).toString('base64url'), generated: true };
}

/** Ports of the development sensor (unprivileged, loopback): SSH-like, Telnet-like and HTTP-like. */
export const developmentSensorPorts = [2222, 2323, 8081] as const;
