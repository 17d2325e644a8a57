import { activationIssues } from '../../core/definition-checks.ts';
import { DefinitionError } from '../../core/errors.ts';
import { openWorkspaceConnector } from './session.ts';

/** `sc validate <connector-dir>`: definition checks, then the activation checks. Exit 0 or 2. */
export async function validateCommand(
  dir: string,
  options: { workspace?: string; json: boolean },
): Promise<number> {
  const session = await openWorkspaceConnector(dir, options.workspace);
  try {
    const { connector, version } = session.applied;
    const issues = activationIssues(version.definition, session.objects);
    if (issues.length > 0)
      throw new DefinitionError(`connector ${connector.apiName}`, issues, 'cannot be activated');
    const result = {
      valid: true,
      apiName: connector.apiName,
      version: version.version,
      status: connector.status,
    };
    process.stdout.write(
      options.json
        ? JSON.stringify(result) + '\n'
        : `${connector.apiName} (version ${version.version}) is valid and passes the activation checks.\n`,
    );
    return 0;
  } finally {
    await session.close();
  }
}
