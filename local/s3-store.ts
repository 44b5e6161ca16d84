/**
 * Buckets and object versions on disk. Bucket settings are one JSON document; objects are a journal
 * of version changes (one line per put or removal, so 2,500 uploads do not rewrite a large file 2,500
 * times) plus one data file per version. The journal is compacted to the live versions on start.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { JsonStore, Journal, writeFileAtomic } from './state.ts';

/** Bucket sub-resources kept as the XML (or JSON, for the policy) the client sent. */
export type BucketConfigName = 'policy' | 'lifecycle' | 'encryption' | 'publicAccessBlock' | 'ownershipControls' | 'tagging';

export interface BucketRecord {
  name: string;
  region: string;
  creationDate: string;
  /** Unset until versioning is first configured: the bucket is then unversioned. */
  versioning?: 'Enabled' | 'Suspended';
  config: Partial<Record<BucketConfigName, string>>;
  /** Response headers that belong to a configuration, e.g. the lifecycle's transition minimum object size. */
  configHeaders?: Record<string, string>;
}

export type Tag = {
  Key: string;
  Value: string;
};

export interface ObjectVersion {
  key: string;
  /** `null` (the string) for objects written while versioning was never enabled or is suspended. */
  versionId: string;
  deleteMarker?: boolean;
  lastModified: string;
  etag: string;
  size: number;
  /** Headers stored with the object and returned on reads (Content-Type, x-amz-meta-*, …). */
  headers: Record<string, string>;
  tags: Tag[];
  dataFile?: string;
}

type JournalEntry = { put: { bucket: string; version: ObjectVersion } } | { remove: { bucket: string; key: string; versionId: string } };

/** S3 lists keys in UTF-8 binary order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class S3Store {
  private readonly bucketStore: JsonStore<{ buckets: BucketRecord[] }>;
  private readonly journal: Journal<JournalEntry>;
  private readonly dataDir: string;
  /** bucket → key → versions, oldest first. */
  private readonly objects = new Map<string, Map<string, ObjectVersion[]>>();
  private readonly sortedKeysCache = new Map<string, string[]>();

  constructor(dir: string) {
    this.bucketStore = new JsonStore(dir, 's3-buckets', () => ({ buckets: [] }));
    this.dataDir = join(dir, 's3-data');
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    this.journal = new Journal(join(dir, 's3-objects.jsonl'));
    for (const bucket of this.bucketStore.data.buckets) this.objects.set(bucket.name, new Map());
    for (const entry of this.journal.read()) {
      if ('put' in entry) this.applyPut(entry.put.bucket, entry.put.version);
      else this.applyRemove(entry.remove.bucket, entry.remove.key, entry.remove.versionId);
    }
    this.compact();
  }

  get buckets(): BucketRecord[] {
    return this.bucketStore.data.buckets;
  }

  bucket(name: string): BucketRecord | undefined {
    return this.buckets.find((b) => b.name === name);
  }

  addBucket(bucket: BucketRecord): void {
    this.buckets.push(bucket);
    this.objects.set(bucket.name, new Map());
    this.saveBuckets();
  }

  removeBucket(name: string): void {
    this.bucketStore.data.buckets = this.buckets.filter((b) => b.name !== name);
    this.objects.delete(name);
    this.sortedKeysCache.delete(name);
    this.saveBuckets();
  }

  saveBuckets(): void {
    this.bucketStore.save();
  }

  isEmpty(bucket: string): boolean {
    return (this.objects.get(bucket)?.size ?? 0) === 0;
  }

  /** Every key with at least one version (delete markers included), in S3 order. */
  sortedKeys(bucket: string): string[] {
    let keys = this.sortedKeysCache.get(bucket);
    if (!keys) {
      keys = [...(this.objects.get(bucket)?.keys() ?? [])].sort(compareKeys);
      this.sortedKeysCache.set(bucket, keys);
    }
    return keys;
  }

  /** Versions of a key, newest first. */
  versions(bucket: string, key: string): ObjectVersion[] {
    return [...(this.objects.get(bucket)?.get(key) ?? [])].reverse();
  }

  /** The current version, undefined when there is none or it is a delete marker. */
  current(bucket: string, key: string): ObjectVersion | undefined {
    const latest = this.objects.get(bucket)?.get(key)?.at(-1);
    return latest?.deleteMarker ? undefined : latest;
  }

  /** Stores a version; a `null` version replaces the previous `null` version of the key. */
  put(bucket: string, version: ObjectVersion, body?: Buffer): void {
    const stored = { ...version };
    if (body) {
      stored.dataFile = randomUUID();
      writeFileAtomic(join(this.dataDir, stored.dataFile), body);
    }
    const replaced = this.objects.get(bucket)?.get(version.key)?.find((v) => v.versionId === version.versionId);
    this.journal.append({ put: { bucket, version: stored } });
    this.applyPut(bucket, stored);
    if (replaced?.dataFile && replaced.dataFile !== stored.dataFile) this.deleteData(replaced.dataFile);
  }

  remove(bucket: string, key: string, versionId: string): ObjectVersion | undefined {
    const removed = this.objects.get(bucket)?.get(key)?.find((v) => v.versionId === versionId);
    if (!removed) return undefined;
    this.journal.append({ remove: { bucket, key, versionId } });
    this.applyRemove(bucket, key, versionId);
    if (removed.dataFile) this.deleteData(removed.dataFile);
    return removed;
  }

  body(version: ObjectVersion): Buffer {
    return version.dataFile ? readFileSync(join(this.dataDir, version.dataFile)) : Buffer.alloc(0);
  }

  private applyPut(bucket: string, version: ObjectVersion): void {
    const keys = this.objects.get(bucket);
    if (!keys) return;
    const versions = (keys.get(version.key) ?? []).filter((v) => v.versionId !== version.versionId);
    if (!keys.has(version.key)) this.sortedKeysCache.delete(bucket);
    keys.set(version.key, [...versions, version]);
  }

  private applyRemove(bucket: string, key: string, versionId: string): void {
    const keys = this.objects.get(bucket);
    const versions = keys?.get(key)?.filter((v) => v.versionId !== versionId);
    if (!keys || !versions) return;
    if (versions.length > 0) {
      keys.set(key, versions);
    } else {
      keys.delete(key);
      this.sortedKeysCache.delete(bucket);
    }
  }

  /** Rewrites the journal as the live versions and drops data files nothing refers to (crash leftovers). */
  private compact(): void {
    const entries: JournalEntry[] = [];
    const referenced = new Set<string>();
    for (const [bucket, keys] of this.objects) {
      for (const versions of keys.values()) {
        for (const version of versions) {
          entries.push({ put: { bucket, version } });
          if (version.dataFile) referenced.add(version.dataFile);
        }
      }
    }
    this.journal.rewrite(entries);
    for (const file of readdirSync(this.dataDir)) {
      if (!referenced.has(file)) this.deleteData(file);
    }
  }

  private deleteData(file: string): void {
    const path = join(this.dataDir, file);
    if (existsSync(path)) unlinkSync(path);
  }
}
