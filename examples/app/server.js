// The example app: it reads its secret from the environment (or from the sidecar's file) and never
// logs it, only whether it is there. It stops cleanly on the SIGTERM `kms-secrets exec` forwards.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const fromFile = '/run/secrets/DB_PASSWORD';
const dbPassword = process.env.DB_PASSWORD ?? (existsSync(fromFile) ? readFileSync(fromFile, 'utf8') : undefined);
console.log(`DB_PASSWORD is ${dbPassword ? 'set' : 'missing'}`);

const server = createServer((_request, response) => response.end('ok\n')).listen(Number(process.env.PORT ?? 8080));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
