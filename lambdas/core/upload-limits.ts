/**
 * The largest input file the API takes in the request body (SPEC §8 "Upload": "direct body up to the
 * gateway limit"). API Gateway passes at most 6 MB to a Lambda, and a binary body arrives base64
 * encoded (4/3 larger), so 4 MiB is what reliably fits; larger files go through a presigned upload
 * (`POST /connectors/{ref}/uploads`). `sc serve` applies the same limit so a client written against it
 * works in AWS.
 */
export const MAX_DIRECT_UPLOAD_BYTES = 4 * 1024 * 1024;

/** The largest webhook payload the intake takes (SPEC §8); larger gets 413. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
