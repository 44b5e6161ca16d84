/**
 * What is deployed against what git holds, for one env, without decrypting anything: each ciphertext
 * file's MD5 against the ETag of the current version of its object (an S3 ETag is the MD5 of the bytes for
 * objects uploaded whole, as the stack uploads them).
 */

export type DeployState = 'in sync' | 'changed in git, not deployed' | 'deployed, not in git' | 'missing from the bucket';

export interface GitSide {
  /** `<service>/<name>`, the object key. */
  readonly key: string;
  readonly md5: string;
}

export interface BucketSide {
  readonly key: string;
  /** Without the quotes S3 puts around it. */
  readonly etag: string;
  readonly versionId?: string;
  readonly lastModified?: string;
}

export interface StatusRow {
  readonly key: string;
  readonly state: DeployState;
  readonly git?: { readonly md5: string };
  readonly bucket?: { readonly etag: string; readonly versionId?: string; readonly lastModified?: string };
}

/** One row per key on either side, sorted by key. */
export function compareDeployment(files: readonly GitSide[], objects: readonly BucketSide[]): StatusRow[] {
  const inBucket = new Map(objects.map((object) => [object.key, object]));
  const inGit = new Map(files.map((file) => [file.key, file]));
  const keys = [...new Set([...inGit.keys(), ...inBucket.keys()])].sort();
  return keys.map((key) => {
    const file = inGit.get(key);
    const object = inBucket.get(key);
    const bucket = object && { etag: object.etag, versionId: object.versionId, lastModified: object.lastModified };
    if (file && object) return { key, state: file.md5 === object.etag ? 'in sync' : 'changed in git, not deployed', git: { md5: file.md5 }, bucket };
    if (file) return { key, state: 'missing from the bucket', git: { md5: file.md5 } };
    return { key, state: 'deployed, not in git', bucket };
  });
}
