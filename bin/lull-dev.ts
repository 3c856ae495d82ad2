#!/usr/bin/env node
// `lull` in a checkout (npm run, npx lull): the product's commands and the development ones, which
// need the local cluster in test/cluster and so stay out of the image.
import { dispatch, productCommands } from './dispatch.ts';

await dispatch(
  {
    cluster: { summary: 'run the local control plane (up|down|status|logs)', load: () => import('../test/cluster/cli.ts') },
    ...productCommands,
    demo: { summary: 'start the local cluster, install Lull, and watch an app sleep and wake', load: () => import('../demo/main.ts') },
  },
  process.argv.slice(2),
);
