#!/usr/bin/env node
// `npm run asl`: refreshes lambdas/local/pipeline.asl.json from the CDK stack (TypeScript, through tsx).
import { register } from 'tsx/esm/api';

register();
const { ASL_CACHE, synthPipelineAsl } = await import('./synth-asl.ts');
const { writeFileSync } = await import('node:fs');
writeFileSync(ASL_CACHE, JSON.stringify(synthPipelineAsl(), null, 2) + '\n');
console.log(`wrote ${ASL_CACHE}`);
