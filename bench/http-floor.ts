/**
 * A measurement, not a runtime: the least a Node.js process can spend on what `kms-secrets exec` does.
 * The same requests (one ListObjectsV2 per page of the service prefix, then GetObject and KMS Decrypt for
 * each secret, 32 at a time, with its encryption context), signed with the SDK's own SigV4 signer and
 * credential chain, sent with plain node:http: no SDK client, so no middleware, endpoint rules, retries,
 * deadline or error handling. Then the app is started with the values in its environment, by execve where
 * the engine has it (given by absolute path), as exec does.
 *
 * bench/runtime.ts bundles it like the runtime and times it next to `exec`: the gap between the two is what
 * the SDK clients cost, and this column alone says how close to the start-up targets a hand-built client
 * could get on the machine.
 *
 * `node http-floor.cjs </path/to/cmd> [args…]` (or compiled by bun) with SECRETS_BUCKET, SECRETS_ENV, SECRETS_SERVICES (one service),
 * AWS_ENDPOINT_URL (path-style S3 and KMS on one URL, as the local endpoint) and AWS_REGION.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { parseXML } from '@aws-sdk/xml-builder';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/transport';
import { SignatureV4 } from '@smithy/signature-v4';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { encryptionContext, envVarName, objectKey } from '../lib/naming.ts';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const PARALLEL = 32;

const { SECRETS_BUCKET: bucket, SECRETS_ENV: env, SECRETS_SERVICES: service, AWS_REGION: region } = process.env;
const endpoint = new URL(process.env.AWS_ENDPOINT_URL!);
const credentials = defaultProvider();
const s3 = new SignatureV4({ service: 's3', region: region!, credentials, sha256: Sha256, uriEscapePath: false });
const kms = new SignatureV4({ service: 'kms', region: region!, credentials, sha256: Sha256 });
const agent = new Agent({ keepAlive: true });

async function send(signer: SignatureV4, method: string, path: string, query: Record<string, string>, headers: Record<string, string>, body?: string): Promise<Buffer> {
  const signed = await signer.sign(new HttpRequest({
    protocol: endpoint.protocol, hostname: endpoint.hostname, port: Number(endpoint.port), method, path, query, body,
    headers: { host: endpoint.host, ...headers },
  }));
  const search = new URLSearchParams(signed.query as Record<string, string>).toString();
  return new Promise((resolve, reject) => {
    const outgoing = request({ agent, host: signed.hostname, port: signed.port, method, path: search ? `${path}?${search}` : path, headers: signed.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${method} ${path}: HTTP ${response.statusCode}`))));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

type XmlValue = string | XmlNode | XmlNode[];
interface XmlNode { [name: string]: XmlValue | undefined }

async function listNames(prefix: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const query: Record<string, string> = { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) };
    const xml = await send(s3, 'GET', `/${bucket}`, query, { 'x-amz-content-sha256': EMPTY_SHA256 });
    const result = (parseXML(xml.toString('utf8')) as XmlNode).ListBucketResult as XmlNode;
    const contents = result.Contents === undefined ? [] : ([] as XmlNode[]).concat(result.Contents as XmlNode | XmlNode[]);
    names.push(...contents.map((object) => (object.Key as string).slice(prefix.length)));
    token = result.NextContinuationToken as string | undefined;
  } while (token);
  return names;
}

async function decrypted(name: string): Promise<string> {
  const ref = { env: env!, service: service!, name };
  const ciphertext = await send(s3, 'GET', `/${bucket}/${objectKey(ref)}`, {}, { 'x-amz-content-sha256': EMPTY_SHA256 });
  const body = JSON.stringify({ CiphertextBlob: ciphertext.toString('base64'), EncryptionContext: encryptionContext(ref) });
  const result = await send(kms, 'POST', '/', {}, { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Decrypt' }, body);
  return Buffer.from((JSON.parse(result.toString('utf8')) as { Plaintext: string }).Plaintext, 'base64').toString('utf8');
}

async function main(): Promise<void> {
  const names = await listNames(`${service}/`);
  const values: Record<string, string> = {};
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      values[envVarName(name)] = await decrypted(name);
    }
  }));
  agent.destroy();
  // The app starts as exec starts it: in this process's place where the engine has execve, else as a child.
  const [command, ...args] = process.argv.slice(2);
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (execve && command!.startsWith('/')) execve(command!, [command!, ...args], { ...process.env, ...values });
  const app = spawn(command!, args, { stdio: 'inherit', env: { ...process.env, ...values } });
  app.on('exit', (code) => process.exit(code ?? 1));
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
