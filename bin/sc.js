#!/usr/bin/env node
// The `sc` CLI. TypeScript runs through tsx, so `npx sc` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

// Node 20 is supported locally (Lambda runs 22); the SDK's reminder is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../lambdas/local/cli/main.ts');
