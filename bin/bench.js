#!/usr/bin/env node
// `npm run bench`: the catalog benchmark (test/bench/catalog-bench.ts), run through tsx.
import { register } from 'tsx/esm/api';

// Node 20 is supported locally (Lambda runs 22); the SDK's reminder is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../test/bench/catalog-bench.ts');
