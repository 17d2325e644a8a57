#!/usr/bin/env node
// The CDK app (cdk.json): the stack is TypeScript, run through tsx like the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./cdk-app.ts');
