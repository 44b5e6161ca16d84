/**
 * S3 (REST/XML, path-style `/<bucket>/<key>`): buckets with every read the Terraform provider makes and
 * the configurations our stack sets, versioned objects, listings with prefix/delimiter/pagination, and
 * object tagging. Configurations are stored as the client sent them and returned unchanged; lifecycle
 * rules are kept but not applied; a bucket policy is checked when put and evaluated with every request.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { invalidPrincipal } from './authorize.ts';
import { decodeAwsChunked } from './aws-chunked.ts';
import { AwsError, header, type Call, type ContextValues, type Reply } from './protocol.ts';
import { compareKeys, S3Store, type BucketConfigName, type BucketRecord, type ObjectVersion, type Tag } from './s3-store.ts';
import { childElements, childText, parseXml, xmlDocument, type XmlElement, type XmlValue } from './xml.ts';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OWNER = { ID: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', DisplayName: 'local' };
const MAX_KEYS = 1000;
const DEFAULT_ENCRYPTION = xmlDocument('ServerSideEncryptionConfiguration', {
  Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false },
}, XMLNS);
/** New buckets block public access and enforce bucket-owner ownership, as S3 does since April 2023. */
const NEW_BUCKET_PUBLIC_ACCESS_BLOCK = xmlDocument('PublicAccessBlockConfiguration', {
  BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true,
}, XMLNS);
const NEW_BUCKET_OWNERSHIP = xmlDocument('OwnershipControls', { Rule: { ObjectOwnership: 'BucketOwnerEnforced' } }, XMLNS);
/** Request headers kept with an object and returned by GetObject/HeadObject. */
const STORED_HEADERS = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires', 'x-amz-website-redirect-location'];

/**
 * Operations by method and sub-resource (the first query parameter of the list that is present).
 * Named operations without a handler answer 501 NotImplemented; other combinations 405.
 */
const BUCKET_ROUTES: Record<string, [subresource: string, operation: string][]> = {
  GET: [['versioning', 'GetBucketVersioning'], ['encryption', 'GetBucketEncryption'], ['publicAccessBlock', 'GetPublicAccessBlock'],
    ['ownershipControls', 'GetBucketOwnershipControls'], ['policy', 'GetBucketPolicy'], ['lifecycle', 'GetBucketLifecycleConfiguration'],
    ['tagging', 'GetBucketTagging'], ['acl', 'GetBucketAcl'], ['cors', 'GetBucketCors'], ['website', 'GetBucketWebsite'],
    ['accelerate', 'GetBucketAccelerateConfiguration'], ['requestPayment', 'GetBucketRequestPayment'], ['logging', 'GetBucketLogging'],
    ['replication', 'GetBucketReplication'], ['object-lock', 'GetObjectLockConfiguration'], ['location', 'GetBucketLocation'],
    ['versions', 'ListObjectVersions'], ['uploads', 'ListMultipartUploads'], ['notification', 'GetBucketNotificationConfiguration'],
    ['policyStatus', 'GetBucketPolicyStatus'], ['list-type', 'ListObjectsV2'], ['', 'ListObjects']],
  PUT: [['versioning', 'PutBucketVersioning'], ['encryption', 'PutBucketEncryption'], ['publicAccessBlock', 'PutPublicAccessBlock'],
    ['ownershipControls', 'PutBucketOwnershipControls'], ['policy', 'PutBucketPolicy'], ['lifecycle', 'PutBucketLifecycleConfiguration'],
    ['tagging', 'PutBucketTagging'], ['acl', 'PutBucketAcl'], ['cors', 'PutBucketCors'], ['website', 'PutBucketWebsite'],
    ['accelerate', 'PutBucketAccelerateConfiguration'], ['requestPayment', 'PutBucketRequestPayment'], ['logging', 'PutBucketLogging'],
    ['replication', 'PutBucketReplication'], ['object-lock', 'PutObjectLockConfiguration'], ['notification', 'PutBucketNotificationConfiguration'],
    ['', 'CreateBucket']],
  DELETE: [['encryption', 'DeleteBucketEncryption'], ['publicAccessBlock', 'DeletePublicAccessBlock'], ['ownershipControls', 'DeleteBucketOwnershipControls'],
    ['policy', 'DeleteBucketPolicy'], ['lifecycle', 'DeleteBucketLifecycle'], ['tagging', 'DeleteBucketTagging'], ['cors', 'DeleteBucketCors'],
    ['website', 'DeleteBucketWebsite'], ['replication', 'DeleteBucketReplication'], ['', 'DeleteBucket']],
  HEAD: [['', 'HeadBucket']],
  POST: [['delete', 'DeleteObjects']],
};

const OBJECT_ROUTES: Record<string, [subresource: string, operation: string][]> = {
  GET: [['tagging', 'GetObjectTagging'], ['acl', 'GetObjectAcl'], ['attributes', 'GetObjectAttributes'], ['uploadId', 'ListParts'],
    ['retention', 'GetObjectRetention'], ['legal-hold', 'GetObjectLegalHold'], ['', 'GetObject']],
  PUT: [['tagging', 'PutObjectTagging'], ['acl', 'PutObjectAcl'], ['uploadId', 'UploadPart'], ['retention', 'PutObjectRetention'],
    ['legal-hold', 'PutObjectLegalHold'], ['x-amz-copy-source', 'CopyObject'], ['', 'PutObject']],
  HEAD: [['', 'HeadObject']],
  DELETE: [['tagging', 'DeleteObjectTagging'], ['uploadId', 'AbortMultipartUpload'], ['', 'DeleteObject']],
  POST: [['uploads', 'CreateMultipartUpload'], ['uploadId', 'CompleteMultipartUpload'], ['restore', 'RestoreObject'], ['select', 'SelectObjectContent']],
};

interface S3Target {
  readonly bucket?: string;
  readonly key?: string;
}

function splitPath(path: string): S3Target {
  const [bucket, ...rest] = path.replace(/^\//, '').split('/');
  if (!bucket) return {};
  const key = rest.join('/');
  return { bucket: decodeURIComponent(bucket), key: key === '' ? undefined : decodeURIComponent(key) };
}

/** The S3 operation a REST request stands for, e.g. `ListObjectsV2` or `PutBucketVersioning`. */
export function s3Operation(method: string, path: string, query: URLSearchParams, headers: Record<string, unknown>): string {
  const target = splitPath(path);
  if (!target.bucket) return method === 'GET' ? 'ListBuckets' : 'UnknownOperation';
  const routes = (target.key === undefined ? BUCKET_ROUTES : OBJECT_ROUTES)[method] ?? [];
  const match = routes.find(([sub]) => sub === '' || query.has(sub) || (sub.startsWith('x-amz-') && headers[sub] !== undefined));
  return match?.[1] ?? 'UnknownOperation';
}

type Handler = (call: Call, target: Required<S3Target>) => Reply;

export class S3 {
  private readonly store: S3Store;

  constructor(dir: string) {
    this.store = new S3Store(dir);
  }

  handle(call: Call): Reply {
    const target = splitPath(call.request.path);
    if (call.operation === 'ListBuckets') return this.listBuckets(call);
    const handler = this.handlers[call.operation];
    if (!handler) {
      if (call.operation === 'UnknownOperation') throw new AwsError('MethodNotAllowed', `The specified method ${call.request.method} is not allowed against this resource.`, 405);
      throw new AwsError('NotImplemented', `The local endpoint does not implement S3 operation ${call.operation}`, 501);
    }
    return handler(call, { bucket: target.bucket!, key: target.key ?? '' });
  }

  private readonly handlers: Record<string, Handler> = {
    CreateBucket: (call, { bucket }) => {
      this.authorize(call, bucket, 's3:CreateBucket', bucketArn(bucket));
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
        throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.');
      }
      if (this.store.bucket(bucket)) throw new AwsError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409);
      if (header(call.request, 'x-amz-bucket-object-lock-enabled') === 'true') {
        throw new AwsError('NotImplemented', 'The local endpoint does not implement S3 Object Lock', 501);
      }
      const configuration = call.request.body.length > 0 ? parseBody(call, 'CreateBucketConfiguration') : undefined;
      const ownership = header(call.request, 'x-amz-object-ownership');
      this.store.addBucket({
        name: bucket,
        region: childText(configuration, 'LocationConstraint') || call.region,
        creationDate: new Date().toISOString(),
        config: {
          publicAccessBlock: NEW_BUCKET_PUBLIC_ACCESS_BLOCK,
          ownershipControls: ownership ? xmlDocument('OwnershipControls', { Rule: { ObjectOwnership: ownership } }, XMLNS) : NEW_BUCKET_OWNERSHIP,
        },
      });
      return { status: 200, headers: { location: `/${bucket}` } };
    },
    HeadBucket: (call, { bucket }) => {
      const record = this.bucket(call, bucket, 's3:ListBucket');
      return { status: 200, headers: { 'x-amz-bucket-region': record.region } };
    },
    DeleteBucket: (call, { bucket }) => {
      this.bucket(call, bucket, 's3:DeleteBucket');
      if (!this.store.isEmpty(bucket)) throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409);
      this.store.removeBucket(bucket);
      return { status: 204 };
    },
    GetBucketLocation: (call, { bucket }) => {
      const record = this.bucket(call, bucket, 's3:GetBucketLocation');
      // us-east-1 is the empty location constraint, for historical reasons
      return xmlReply(`<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${XMLNS}">${record.region === 'us-east-1' ? '' : record.region}</LocationConstraint>`);
    },
    GetBucketVersioning: (call, { bucket }) => {
      const record = this.bucket(call, bucket, 's3:GetBucketVersioning');
      return xmlReply(xmlDocument('VersioningConfiguration', { Status: record.versioning }, XMLNS));
    },
    PutBucketVersioning: (call, { bucket }) => {
      const record = this.bucket(call, bucket, 's3:PutBucketVersioning');
      const status = childText(parseBody(call, 'VersioningConfiguration'), 'Status');
      if (status !== 'Enabled' && status !== 'Suspended') throw new AwsError('MalformedXML', 'Versioning Status must be Enabled or Suspended');
      record.versioning = status;
      this.store.saveBuckets();
      return { status: 200 };
    },
    ...this.configHandlers('BucketEncryption', 'encryption', 'ServerSideEncryptionConfiguration', 'EncryptionConfiguration', { defaultValue: DEFAULT_ENCRYPTION }),
    ...this.configHandlers('PublicAccessBlock', 'publicAccessBlock', 'PublicAccessBlockConfiguration', 'BucketPublicAccessBlock',
      { missing: ['NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found'] }),
    ...this.configHandlers('BucketOwnershipControls', 'ownershipControls', 'OwnershipControls', 'BucketOwnershipControls',
      { missing: ['OwnershipControlsNotFoundError', 'The bucket ownership controls were not found'] }),
    ...this.configHandlers('BucketLifecycleConfiguration', 'lifecycle', 'LifecycleConfiguration', 'LifecycleConfiguration',
      {
        missing: ['NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist'],
        deleteOperation: 'DeleteBucketLifecycle',
        // Terraform's provider waits until this header reads back as it was put.
        header: { name: 'x-amz-transition-default-minimum-object-size', defaultValue: 'all_storage_classes_128K' },
      }),
    ...this.configHandlers('BucketTagging', 'tagging', 'Tagging', 'BucketTagging', { missing: ['NoSuchTagSet', 'The TagSet does not exist'] }),
    ...this.configHandlers('BucketPolicy', 'policy', 'json', 'BucketPolicy', { missing: ['NoSuchBucketPolicy', 'The bucket policy does not exist'] }),
    GetBucketAcl: (call, { bucket }) => {
      this.bucket(call, bucket, 's3:GetBucketAcl');
      const owner = `<ID>${OWNER.ID}</ID><DisplayName>${OWNER.DisplayName}</DisplayName>`;
      return xmlReply(`<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="${XMLNS}"><Owner>${owner}</Owner><AccessControlList>`
        + `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${owner}</Grantee>`
        + '<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>');
    },
    GetBucketCors: this.neverConfigured('s3:GetBucketCORS', 'NoSuchCORSConfiguration', 'The CORS configuration does not exist'),
    GetBucketWebsite: this.neverConfigured('s3:GetBucketWebsite', 'NoSuchWebsiteConfiguration', 'The specified bucket does not have a website configuration'),
    GetBucketReplication: this.neverConfigured('s3:GetReplicationConfiguration', 'ReplicationConfigurationNotFoundError', 'The replication configuration was not found'),
    GetObjectLockConfiguration: this.neverConfigured('s3:GetBucketObjectLockConfiguration', 'ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket'),
    GetBucketAccelerateConfiguration: this.constant('s3:GetAccelerateConfiguration', xmlDocument('AccelerateConfiguration', {}, XMLNS)),
    GetBucketRequestPayment: this.constant('s3:GetBucketRequestPayment', xmlDocument('RequestPaymentConfiguration', { Payer: 'BucketOwner' }, XMLNS)),
    GetBucketLogging: this.constant('s3:GetBucketLogging', xmlDocument('BucketLoggingStatus', {}, XMLNS)),
    ListObjectsV2: (call, { bucket }) => this.listObjects(call, bucket, 2),
    ListObjects: (call, { bucket }) => this.listObjects(call, bucket, 1),
    ListObjectVersions: (call, { bucket }) => this.listObjectVersions(call, bucket),
    PutObject: (call, target) => this.putObject(call, target),
    GetObject: (call, target) => this.getObject(call, target, true),
    HeadObject: (call, target) => this.getObject(call, target, false),
    DeleteObject: (call, { bucket, key }) => {
      const versionId = call.request.query.get('versionId') ?? undefined;
      this.authorize(call, bucket, versionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', objectArn(bucket, key));
      const result = this.deleteObject(this.bucket(call, bucket), key, versionId);
      return { status: 204, headers: definedHeaders({ 'x-amz-version-id': result.versionId, 'x-amz-delete-marker': result.deleteMarker ? 'true' : undefined }) };
    },
    DeleteObjects: (call, { bucket }) => {
      const record = this.bucket(call, bucket);
      const request = parseBody(call, 'Delete');
      const quiet = childText(request, 'Quiet') === 'true';
      const deleted: XmlValue[] = [];
      const errors: XmlValue[] = [];
      for (const object of childElements(request, 'Object')) {
        const key = childText(object, 'Key') ?? '';
        const versionId = childText(object, 'VersionId');
        try {
          this.authorize(call, bucket, versionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', objectArn(bucket, key));
          const result = this.deleteObject(record, key, versionId);
          if (!quiet) {
            deleted.push({ Key: key, VersionId: versionId, DeleteMarker: result.deleteMarker || undefined, DeleteMarkerVersionId: result.deleteMarker ? result.versionId : undefined });
          }
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          errors.push({ Key: key, VersionId: versionId, Code: error.code, Message: error.message });
        }
      }
      return xmlReply(xmlDocument('DeleteResult', { Deleted: deleted, Error: errors }, XMLNS));
    },
    GetObjectTagging: (call, target) => {
      const version = this.readableVersion(call, target, 's3:GetObjectTagging');
      return xmlReply(xmlDocument('Tagging', { TagSet: { Tag: version.tags } }, XMLNS), versionHeader(this.bucket(call, target.bucket), version));
    },
    PutObjectTagging: (call, target) => {
      const version = this.readableVersion(call, target, 's3:PutObjectTagging');
      this.store.put(target.bucket, { ...version, tags: parseTagSet(parseBody(call, 'Tagging')) });
      return { status: 200, headers: versionHeader(this.bucket(call, target.bucket), version) };
    },
    DeleteObjectTagging: (call, target) => {
      const version = this.readableVersion(call, target, 's3:DeleteObjectTagging');
      this.store.put(target.bucket, { ...version, tags: [] });
      return { status: 204, headers: versionHeader(this.bucket(call, target.bucket), version) };
    },
  };

  private listBuckets(call: Call): Reply {
    call.authorize('s3:ListAllMyBuckets', '*');
    const buckets = [...this.store.buckets].sort((a, b) => compareKeys(a.name, b.name));
    return xmlReply(xmlDocument('ListAllMyBucketsResult', {
      Owner: OWNER,
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.creationDate, BucketRegion: b.region })) },
    }, XMLNS));
  }

  /** Get/Put/Delete of a configuration kept as sent; `missing` is S3's error when none is set. */
  private configHandlers(
    name: string,
    config: BucketConfigName,
    root: string,
    permission: string,
    options: {
      missing?: [code: string, message: string];
      defaultValue?: string;
      deleteOperation?: string;
      /** A request header stored with the configuration and returned with it. */
      header?: { name: string; defaultValue: string };
    },
  ): Record<string, Handler> {
    const contentType = root === 'json' ? 'application/json' : 'application/xml';
    const headerOf = (record: BucketRecord): Record<string, string> =>
      options.header ? { [options.header.name]: record.configHeaders?.[options.header.name] ?? options.header.defaultValue } : {};
    return {
      [`Get${name}`]: (call, { bucket }) => {
        const record = this.bucket(call, bucket, `s3:Get${permission}`);
        const value = record.config[config] ?? options.defaultValue;
        if (value === undefined) throw new AwsError(options.missing![0], options.missing![1], 404);
        return { status: 200, headers: { 'content-type': contentType, ...headerOf(record) }, body: value };
      },
      [`Put${name}`]: (call, { bucket }) => {
        const record = this.bucket(call, bucket, `s3:Put${permission}`);
        const body = call.request.body.toString('utf8');
        if (root === 'json') requireBucketPolicy(body);
        else parseBody(call, root);
        record.config[config] = body;
        if (options.header) {
          record.configHeaders = { ...record.configHeaders, [options.header.name]: header(call.request, options.header.name) ?? options.header.defaultValue };
        }
        this.store.saveBuckets();
        return { status: root === 'json' ? 204 : 200, headers: headerOf(record) };
      },
      [options.deleteOperation ?? `Delete${name}`]: (call, { bucket }) => {
        const record = this.bucket(call, bucket, `s3:${root === 'json' ? 'Delete' : 'Put'}${permission}`);
        delete record.config[config];
        if (options.header) delete record.configHeaders?.[options.header.name];
        this.store.saveBuckets();
        return { status: 204 };
      },
    };
  }

  private neverConfigured(action: string, code: string, message: string): Handler {
    return (call, { bucket }) => {
      this.bucket(call, bucket, action);
      throw new AwsError(code, message, 404);
    };
  }

  private constant(action: string, document: string): Handler {
    return (call, { bucket }) => {
      this.bucket(call, bucket, action);
      return xmlReply(document);
    };
  }

  /** Authorizes `action` on the bucket or one of its objects, by the caller's policies and the bucket policy. */
  private authorize(call: Call, bucket: string, action: string, resource: string, context?: ContextValues): void {
    call.authorize(action, resource, context, this.store.bucket(bucket)?.config.policy);
  }

  /** The bucket, after authorizing `action` on it; NoSuchBucket when there is none. */
  private bucket(call: Call, name: string, action?: string, context?: ContextValues): BucketRecord {
    if (action) this.authorize(call, name, action, bucketArn(name), context);
    const record = this.store.bucket(name);
    if (!record) throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404);
    return record;
  }

  private putObject(call: Call, { bucket, key }: Required<S3Target>): Reply {
    const sse = header(call.request, 'x-amz-server-side-encryption');
    this.authorize(call, bucket, 's3:PutObject', objectArn(bucket, key), sse ? { 's3:x-amz-server-side-encryption': sse } : {});
    const record = this.bucket(call, bucket);
    const { payload, trailers } = readPayload(call);
    const checksum = verifyChecksums(call, payload, trailers);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(call.request.headers)) {
      if (typeof value === 'string' && (STORED_HEADERS.includes(name) || name.startsWith('x-amz-meta-'))) headers[name] = value;
    }
    headers['content-type'] ??= 'binary/octet-stream';
    // aws-chunked describes the transfer, not the object
    const encoding = headers['content-encoding']?.split(',').map((e) => e.trim()).filter((e) => e && e !== 'aws-chunked').join(',');
    if (encoding) headers['content-encoding'] = encoding;
    else delete headers['content-encoding'];
    headers['x-amz-server-side-encryption'] = sse ?? defaultEncryption(record);
    const kmsKey = header(call.request, 'x-amz-server-side-encryption-aws-kms-key-id');
    if (kmsKey) headers['x-amz-server-side-encryption-aws-kms-key-id'] = kmsKey;
    if (checksum) headers[checksum.name] = checksum.value;
    const version: ObjectVersion = {
      key,
      versionId: record.versioning === 'Enabled' ? newVersionId() : 'null',
      lastModified: new Date().toISOString(),
      etag: `"${createHash('md5').update(payload).digest('hex')}"`,
      size: payload.length,
      headers,
      tags: [...new URLSearchParams(header(call.request, 'x-amz-tagging') ?? '')].map(([Key, Value]) => ({ Key, Value })),
    };
    this.store.put(bucket, version, payload);
    return {
      status: 200,
      headers: definedHeaders({
        etag: version.etag,
        'x-amz-server-side-encryption': headers['x-amz-server-side-encryption'],
        'x-amz-server-side-encryption-aws-kms-key-id': kmsKey,
        ...versionHeader(record, version),
        ...(checksum ? { [checksum.name]: checksum.value } : {}),
      }),
    };
  }

  private getObject(call: Call, target: Required<S3Target>, withBody: boolean): Reply {
    const version = this.readableVersion(call, target, call.request.query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject');
    const record = this.bucket(call, target.bucket);
    const checksumMode = header(call.request, 'x-amz-checksum-mode') === 'ENABLED';
    const headers = Object.fromEntries(Object.entries(version.headers).filter(([name]) => checksumMode || !name.startsWith('x-amz-checksum-')));
    return {
      status: 200,
      headers: definedHeaders({
        ...headers,
        'content-length': String(version.size),
        etag: version.etag,
        'last-modified': new Date(version.lastModified).toUTCString(),
        'accept-ranges': 'bytes',
        'x-amz-tagging-count': version.tags.length > 0 ? String(version.tags.length) : undefined,
        ...versionHeader(record, version),
      }),
      body: withBody ? this.store.body(version) : undefined,
    };
  }

  /** The version a read names (`?versionId=`) or the current one, with S3's errors for delete markers. */
  private readableVersion(call: Call, { bucket, key }: Required<S3Target>, action: string): ObjectVersion {
    this.authorize(call, bucket, action, objectArn(bucket, key));
    this.bucket(call, bucket);
    const versionId = call.request.query.get('versionId');
    if (versionId) {
      const version = this.store.versions(bucket, key).find((v) => v.versionId === versionId);
      if (!version) throw new AwsError('NoSuchVersion', 'The specified version does not exist.', 404);
      if (version.deleteMarker) throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
      return version;
    }
    const current = this.store.current(bucket, key);
    if (!current) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
    return current;
  }

  /** Deletes as S3 does: a version by id, or (versioning on) a new delete marker, or the `null` version. */
  private deleteObject(bucket: BucketRecord, key: string, versionId: string | undefined): { versionId?: string; deleteMarker: boolean } {
    if (versionId) {
      const removed = this.store.remove(bucket.name, key, versionId);
      return { versionId, deleteMarker: Boolean(removed?.deleteMarker) };
    }
    if (!bucket.versioning) {
      this.store.remove(bucket.name, key, 'null');
      return { deleteMarker: false };
    }
    const marker: ObjectVersion = {
      key,
      versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null',
      deleteMarker: true,
      lastModified: new Date().toISOString(),
      etag: '',
      size: 0,
      headers: {},
      tags: [],
    };
    this.store.put(bucket.name, marker);
    return { versionId: marker.versionId, deleteMarker: true };
  }

  private listObjects(call: Call, bucket: string, listVersion: 1 | 2): Reply {
    const query = call.request.query;
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(Number(query.get('max-keys') ?? MAX_KEYS), MAX_KEYS);
    this.bucket(call, bucket, 's3:ListBucket', { 's3:prefix': prefix, 's3:delimiter': delimiter, 's3:max-keys': String(maxKeys) });
    const token = query.get('continuation-token');
    const startAfter = listVersion === 2 ? (token ? decodeToken(token) : query.get('start-after') ?? '') : query.get('marker') ?? '';
    const items = rollUp(this.store.sortedKeys(bucket).filter((key) => this.store.current(bucket, key)), prefix, delimiter)
      .filter((item) => compareKeys(item.name, startAfter) > 0);
    const page = items.slice(0, maxKeys);
    const truncated = items.length > page.length;
    const lastName = page.at(-1)?.name;
    const encode = query.get('encoding-type') === 'url' ? urlEncodeKey : (text: string) => text;
    const contents = page.filter((item) => !item.isPrefix).map((item) => {
      const version = this.store.current(bucket, item.name)!;
      return { Key: encode(item.name), LastModified: version.lastModified, ETag: version.etag, Size: version.size, StorageClass: 'STANDARD' };
    });
    const common = page.filter((item) => item.isPrefix).map((item) => ({ Prefix: encode(item.name) }));
    const shared = { Name: bucket, Prefix: encode(prefix), Delimiter: delimiter ? encode(delimiter) : undefined, MaxKeys: maxKeys, EncodingType: query.get('encoding-type') ?? undefined, IsTruncated: truncated };
    const document = listVersion === 2
      ? {
        ...shared,
        KeyCount: page.length,
        ContinuationToken: token ?? undefined,
        NextContinuationToken: truncated && lastName !== undefined ? encodeToken(lastName) : undefined,
        StartAfter: query.get('start-after') ?? undefined,
        Contents: contents,
        CommonPrefixes: common,
      }
      : { ...shared, Marker: encode(startAfter), NextMarker: truncated && delimiter && lastName !== undefined ? encode(lastName) : undefined, Contents: contents, CommonPrefixes: common };
    return xmlReply(xmlDocument('ListBucketResult', document, XMLNS));
  }

  private listObjectVersions(call: Call, bucket: string): Reply {
    const query = call.request.query;
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(Number(query.get('max-keys') ?? MAX_KEYS), MAX_KEYS);
    this.bucket(call, bucket, 's3:ListBucketVersions', { 's3:prefix': prefix, 's3:delimiter': delimiter, 's3:max-keys': String(maxKeys) });
    const keyMarker = query.get('key-marker') ?? '';
    const versionIdMarker = query.get('version-id-marker') ?? '';
    type Entry = { name: string; isPrefix: boolean; version?: ObjectVersion };
    const entries: Entry[] = rollUp(this.store.sortedKeys(bucket), prefix, delimiter).flatMap((item): Entry[] =>
      item.isPrefix ? [item] : this.store.versions(bucket, item.name).map((version) => ({ ...item, version })));
    let start = entries.findIndex((entry) => compareKeys(entry.name, keyMarker) > 0);
    if (versionIdMarker) {
      const marker = entries.findIndex((entry) => entry.name === keyMarker && entry.version?.versionId === versionIdMarker);
      if (marker >= 0) start = marker + 1;
    }
    const remaining = start < 0 ? [] : entries.slice(start);
    const page = remaining.slice(0, maxKeys);
    const last = page.at(-1);
    const truncated = remaining.length > page.length;
    const latest = (version: ObjectVersion) => this.store.versions(bucket, version.key)[0]?.versionId === version.versionId;
    return xmlReply(xmlDocument('ListVersionsResult', {
      Name: bucket,
      Prefix: prefix,
      KeyMarker: keyMarker,
      VersionIdMarker: versionIdMarker,
      NextKeyMarker: truncated ? last?.name : undefined,
      NextVersionIdMarker: truncated ? last?.version?.versionId : undefined,
      MaxKeys: maxKeys,
      Delimiter: delimiter || undefined,
      IsTruncated: truncated,
      Version: page.filter((e) => e.version && !e.version.deleteMarker).map(({ version: v }) => ({
        Key: v!.key, VersionId: v!.versionId, IsLatest: latest(v!), LastModified: v!.lastModified, ETag: v!.etag, Size: v!.size, StorageClass: 'STANDARD', Owner: OWNER,
      })),
      DeleteMarker: page.filter((e) => e.version?.deleteMarker).map(({ version: v }) => ({
        Key: v!.key, VersionId: v!.versionId, IsLatest: latest(v!), LastModified: v!.lastModified, Owner: OWNER,
      })),
      CommonPrefixes: page.filter((e) => e.isPrefix).map((e) => ({ Prefix: e.name })),
    }, XMLNS));
  }
}

/** Keys under `prefix`, with everything past the next `delimiter` rolled up into one common prefix. */
function rollUp(sortedKeys: string[], prefix: string, delimiter: string): { name: string; isPrefix: boolean }[] {
  const items: { name: string; isPrefix: boolean }[] = [];
  for (const key of sortedKeys) {
    if (!key.startsWith(prefix)) continue;
    const end = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (end < 0) {
      items.push({ name: key, isPrefix: false });
      continue;
    }
    const common = key.slice(0, end + delimiter.length);
    if (items.at(-1)?.name !== common) items.push({ name: common, isPrefix: true });
  }
  return items;
}

function readPayload(call: Call): { payload: Buffer; trailers: Record<string, string> } {
  const encoding = header(call.request, 'content-encoding') ?? '';
  const streaming = (header(call.request, 'x-amz-content-sha256') ?? '').startsWith('STREAMING-');
  if (!encoding.includes('aws-chunked') && !streaming) return { payload: call.request.body, trailers: {} };
  const decoded = decodeAwsChunked(call.request.body);
  const announced = header(call.request, 'x-amz-decoded-content-length');
  if (announced !== undefined && Number(announced) !== decoded.payload.length) {
    throw new AwsError('IncompleteBody', 'You did not provide the number of bytes specified by the x-amz-decoded-content-length header.');
  }
  return decoded;
}

/**
 * Checks Content-MD5 and a CRC32 checksum (the SDKs' default, in a header or an aws-chunked trailer)
 * as S3 does; returns the flexible checksum to keep with the object, if the client sent one.
 */
function verifyChecksums(call: Call, payload: Buffer, trailers: Record<string, string>): { name: string; value: string } | undefined {
  const md5 = header(call.request, 'content-md5');
  if (md5 !== undefined) {
    if (Buffer.from(md5, 'base64').length !== 16) throw new AwsError('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    if (createHash('md5').update(payload).digest('base64') !== md5) {
      throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
  }
  const all = { ...call.request.headers, ...trailers };
  const name = Object.keys(all).find((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type' && h !== 'x-amz-checksum-algorithm');
  if (!name) return undefined;
  const value = String(all[name]);
  if (name === 'x-amz-checksum-crc32') {
    const expected = Buffer.alloc(4);
    expected.writeUInt32BE(crc32(payload));
    if (expected.toString('base64') !== value) throw new AwsError('BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
  }
  return { name, value };
}

function parseBody(call: Call, root: string): XmlElement {
  let element: XmlElement;
  try {
    element = parseXml(call.request.body.toString('utf8'));
  } catch {
    throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  }
  if (element.name !== root) throw new AwsError('MalformedXML', `Expected a ${root} document, got ${element.name}`);
  return element;
}

function parseTagSet(tagging: XmlElement): Tag[] {
  const tagSet = childElements(tagging, 'TagSet')[0];
  return childElements(tagSet, 'Tag').map((tag) => ({ Key: childText(tag, 'Key') ?? '', Value: childText(tag, 'Value') ?? '' }));
}

/** A bucket policy as S3 accepts it: JSON in the policy grammar, principals without a wildcard inside. */
function requireBucketPolicy(body: string): void {
  let policy: unknown;
  try {
    policy = JSON.parse(body);
  } catch {
    throw new AwsError('MalformedPolicy', 'Policies must be valid JSON and the first byte must be \'{\'');
  }
  const errors = validateResourcePolicy(policy);
  if (errors.length > 0) throw new AwsError('MalformedPolicy', errors.map((error) => `${error.path}: ${error.message}`).join('; '));
  if (invalidPrincipal(policy)) throw new AwsError('MalformedPolicy', 'Invalid principal in policy');
}

function defaultEncryption(bucket: BucketRecord): string {
  const configured = bucket.config.encryption && /<SSEAlgorithm>([^<]+)<\/SSEAlgorithm>/.exec(bucket.config.encryption)?.[1];
  return configured || 'AES256';
}

function versionHeader(bucket: BucketRecord, version: ObjectVersion): Record<string, string> {
  return bucket.versioning ? { 'x-amz-version-id': version.versionId } : {};
}

function definedHeaders(headers: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function xmlReply(body: string, headers: Record<string, string> = {}): Reply {
  return { status: 200, headers: { 'content-type': 'application/xml', ...headers }, body };
}

function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

function encodeToken(lastName: string): string {
  return Buffer.from(lastName, 'utf8').toString('base64');
}

function decodeToken(token: string): string {
  return Buffer.from(token, 'base64').toString('utf8');
}

/** `encoding-type=url`: keys percent-encoded except `/`, as the CLI expects when it asks for it. */
function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}
