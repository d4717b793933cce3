/** Where an artifact lives in S3, as CodePipeline gives it in `location.s3Location`. */
export interface S3Location {
  bucket: string;
  key: string;
}
