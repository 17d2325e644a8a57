import busboy from 'busboy';
import { errorMessage } from '../../core/errors.ts';
import { ApiError, type ApiRequest } from './http.ts';

/** A `multipart/form-data` body: its text fields and at most one file. */
export interface MultipartForm {
  fields: Record<string, string>;
  /** The part named `fileField`, when sent. */
  file: { name: string; bytes: Buffer } | null;
  /** True when the file was longer than `maxFileBytes` (its bytes are then cut). */
  truncated: boolean;
}

/**
 * Reads a buffered `multipart/form-data` body with busboy. Only the part named `fileField` is kept as a
 * file; a malformed body is a 400 `INVALID_MULTIPART`.
 */
export async function readMultipartForm(
  request: ApiRequest,
  options: { fileField: string; maxFileBytes: number },
): Promise<MultipartForm> {
  const form: MultipartForm = { fields: {}, file: null, truncated: false };
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': request.headers['content-type'] ?? '' },
      limits: { fileSize: options.maxFileBytes, fields: 50, files: 5 },
      // Browsers and curl send a file name's UTF-8 bytes as they are; busboy would read them as latin1.
      defParamCharset: 'utf8',
    });
  } catch (error) {
    throw malformed(error);
  }
  await new Promise<void>((resolve, reject) => {
    parser.on('field', (name, value) => (form.fields[name] = value));
    parser.on('file', (name, stream, info) => {
      if (name !== options.fileField) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => (form.truncated = true));
      stream.on('end', () => {
        form.file = { name: info.filename ?? '', bytes: Buffer.concat(chunks) };
      });
    });
    parser.on('error', (error) => reject(malformed(error)));
    parser.on('close', resolve);
    parser.end(request.body);
  });
  return form;
}

function malformed(error: unknown): ApiError {
  return new ApiError(
    400,
    'INVALID_MULTIPART',
    `The multipart/form-data body cannot be read: ${errorMessage(error)}. Send a form with a "file" part.`,
  );
}
