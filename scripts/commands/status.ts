/**
 * `kms-secrets status [--env E] [--json]`: for each secret of the env, git against the bucket, with no
 * decryption and no decrypt right — only the listing rights CI already has (the ci-plan policy). Exit 1
 * when anything differs, so CI can say "main is not deployed yet".
 */
import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArguments } from '../../lib/arguments.ts';
import { classifyAwsError } from '../../lib/aws-errors.ts';
import { compareDeployment, type BucketSide, type StatusRow } from '../../lib/deploy-status.ts';
import { KmsSecretsError } from '../../lib/errors.ts';
import { DECLARED_PREFIX } from '../../lib/declared.ts';
import { objectKey } from '../../lib/naming.ts';
import { printable } from '../../lib/printable.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { loadSettings } from '../../lib/settings.ts';
import { AWS_OPTIONS, chooseEnv, clientsForEnv, ENV_OPTION, secretsInScope } from '../options.ts';
import type { Command } from './index.ts';

const USAGE = `usage: kms-secrets status [--env E] [--json] [--profile P] [--region R]

For each secret of env E: whether the bucket serves what git holds — "in sync", "changed in git, not
deployed", "deployed, not in git" or "missing from the bucket" — with the file's MD5, the object's ETag,
version id and last-modified time. Nothing is decrypted; it needs s3:ListBucketVersions on the env's bucket
(the ci-plan policy has it). Exits 1 when anything differs.
`;

export const status: Command = {
  summary: 'git against the bucket, per secret: in sync, not deployed, removed, missing (no decryption)',
  async run(args) {
    const { values } = parseArguments({
      args: [...args],
      options: { ...ENV_OPTION, ...AWS_OPTIONS, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const projectRoot = findProjectRoot();
    const settings = loadSettings(projectRoot);
    const { env } = chooseEnv(projectRoot, settings, values.env);
    const envSettings = settings.forEnv(env);
    const bucket = envSettings.bucketName;
    const files = (await secretsInScope(projectRoot, settings, env))
      .map((file) => ({ key: objectKey(file), md5: createHash('md5').update(readFileSync(file.path)).digest('hex') }));
    const { s3 } = await clientsForEnv(values, envSettings);
    const rows = compareDeployment(files, await currentObjects(s3, bucket, env));
    process.stdout.write(values.json ? `${JSON.stringify({ env, bucket, secrets: rows }, null, 2)}\n` : table(env, bucket, rows));
    return rows.every((row) => row.state === 'in sync') ? 0 : 1;
  },
};

/** The current version of every object: ListObjectVersions, so each comes with its version id; a latest delete marker means gone. */
async function currentObjects(s3: S3Client, bucket: string, env: string): Promise<BucketSide[]> {
  const objects: BucketSide[] = [];
  try {
    let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, ...markers }));
      for (const version of page.Versions ?? []) {
        // Declared lists are the stack's, not secrets: plan-check names a change of one.
        if (!version.IsLatest || !version.Key || version.Key.endsWith('/') || version.Key.startsWith(DECLARED_PREFIX)) continue;
        objects.push({
          key: version.Key,
          etag: (version.ETag ?? '').replaceAll('"', ''),
          versionId: version.VersionId === 'null' ? undefined : version.VersionId,
          lastModified: version.LastModified?.toISOString(),
        });
      }
      if (!page.IsTruncated) break;
      markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
  } catch (error) {
    const { kind, cause } = classifyAwsError(error);
    throw new KmsSecretsError(`cannot list s3://${bucket}: ${cause}`, {
      hint: kind === 'not-found' ? `env ${env} is not deployed yet: npm run cdktf -- deploy ${env}`
        : kind === 'access-denied' ? 'status needs s3:ListBucketVersions on the bucket: use the ci-plan role, or any role with the env\'s read rights'
          : 'check the credentials, the region (--region) and AWS_ENDPOINT_URL',
    });
  }
  return objects;
}

function table(env: string, bucket: string, rows: readonly StatusRow[]): string {
  const cells = [['SECRET', 'STATE', 'GIT MD5', 'BUCKET ETAG', 'VERSION', 'LAST MODIFIED'], ...rows.map((row) => [
    printable(row.key), row.state, row.git?.md5 ?? '-', row.bucket?.etag ?? '-', row.bucket?.versionId ?? '-', row.bucket?.lastModified ?? '-',
  ])];
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)));
  const lines = cells.map((line) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  const differing = rows.filter((row) => row.state !== 'in sync').length;
  const summary = rows.length === 0 ? `env ${env}: no secrets in git or in s3://${bucket}`
    : differing === 0 ? `env ${env}: all ${rows.length} in sync with s3://${bucket}`
      : `env ${env}: ${differing} of ${rows.length} differ from s3://${bucket}`;
  return `${lines.join('\n')}\n${summary}\n`;
}
