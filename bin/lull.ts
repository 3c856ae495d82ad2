#!/usr/bin/env node
// `lull`: the product's commands, as the image runs them (dist/lull.mjs is built from this file). The
// development commands (`lull cluster`, `lull demo`) are bin/lull-dev.ts's, which it hands over to in a checkout.
import { dispatch, productCommands } from './dispatch.ts';

await dispatch(productCommands, process.argv.slice(2));
