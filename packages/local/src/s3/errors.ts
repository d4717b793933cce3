import { document, element } from './xml.js';

/** An S3 error as S3 reports it: an XML body with Code and Message, and the matching HTTP status. */
export class S3Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }

  toXml(requestId: string): string {
    const extra = Object.entries(this.extra)
      .map(([k, v]) => element(k, v))
      .join('');
    const body = `${element('Code', this.code)}${element('Message', this.message)}${extra}${element('RequestId', requestId)}`;
    return document('Error', body).replace(' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', '');
  }
}

export const noSuchBucket = (bucket: string) =>
  new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket });
export const noSuchKey = (key: string) =>
  new S3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
export const accessDenied = (why = 'Access Denied') => new S3Error('AccessDenied', why, 403);
