import { activationIssues } from '../../core/definition-checks.ts';
import { DefinitionError } from '../../core/errors.ts';
import type { ConnectorRecord } from '../../ports/connector-store.ts';
import { setConnectorActive } from '../control.ts';
import { ApiError, json, route, type ApiDeps, type ApiRoute } from './http.ts';

/** The connector named by `{ref}` (id or api name), else 404. */
export async function connectorOf(deps: ApiDeps, ref: string): Promise<ConnectorRecord> {
  const connector = await deps.ports.connectors.getConnector(ref);
  if (!connector) throw new ApiError(404, 'CONNECTOR_NOT_FOUND', `No connector "${ref}".`);
  return connector;
}

export const CONNECTOR_ROUTES: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/connectors',
    summary: 'List connectors',
    tag: 'connectors',
    handle: async (deps) => json(200, { connectors: await deps.ports.connectors.listConnectors() }),
  }),
  route({
    method: 'GET',
    path: '/connectors/{ref}',
    summary: 'Get a connector',
    tag: 'connectors',
    handle: async (deps, { params }) => json(200, await connectorOf(deps, params.ref!)),
  }),
  ...(['activate', 'deactivate'] as const).map((verb) =>
    route({
      method: 'POST',
      path: `/connectors/{ref}/${verb}`,
      summary: verb === 'activate' ? 'Activate a connector' : 'Deactivate a connector',
      tag: 'connectors',
      handle: async (deps, { params }) => {
        const connector = await connectorOf(deps, params.ref!);
        if (verb === 'activate') {
          const version = await deps.ports.connectors.getVersion(connector.id, connector.version);
          const objects = new Map((await deps.ports.connectors.listObjects()).map((o) => [o.apiName, o]));
          const issues = version ? activationIssues(version.definition, objects) : [];
          if (issues.length > 0)
            throw new DefinitionError(`connector ${connector.apiName}`, issues, 'cannot be activated');
        }
        return json(200, await setConnectorActive(deps.ports, connector.id, verb === 'activate'));
      },
    }),
  ),
];
