import { z } from 'zod';
import { handleApiRequest, type ApiDeps } from '../pipeline/api.ts';
import { awsApiDeps, awsEnvironment } from './aws-ports.ts';

/** The parts of an API Gateway HTTP API (payload 2.0) event the API reads. */
const HttpApiEvent = z.object({
  rawPath: z.string(),
  rawQueryString: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.object({
    http: z.object({ method: z.string() }),
    domainName: z.string().optional(),
    stage: z.string().optional(),
  }),
});

let deps: ApiDeps | undefined;

/** The HTTP API's Lambda: an API Gateway event in, the shared API function, an API Gateway answer out. */
export async function handler(event: unknown) {
  deps ??= awsApiDeps(awsEnvironment());
  const e = HttpApiEvent.parse(event);
  const response = await handleApiRequest(withBaseUrl(deps, e.requestContext), {
    method: e.requestContext.http.method,
    path: e.rawPath,
    query: Object.fromEntries(new URLSearchParams(e.rawQueryString)),
    headers: Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: Buffer.from(e.body ?? '', e.isBase64Encoded ? 'base64' : 'utf8'),
  });
  const binary = Buffer.isBuffer(response.body);
  return {
    statusCode: response.statusCode,
    headers: response.headers,
    body: binary ? (response.body as Buffer).toString('base64') : response.body,
    isBase64Encoded: binary,
  };
}

/** The API's public URL, from the domain (and a named stage) the request came in on, unless configured. */
function withBaseUrl(deps: ApiDeps, context: { domainName?: string; stage?: string }): ApiDeps {
  if (deps.baseUrl || !context.domainName) return deps;
  const stage = context.stage && context.stage !== '$default' ? `/${context.stage}` : '';
  return { ...deps, baseUrl: `https://${context.domainName}${stage}` };
}
