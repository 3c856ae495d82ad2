import { describe, expect, it } from 'vitest';
import { imageStore, layerCache, parseOciReference } from '../../cluster/image.ts';
import { clusterLayout } from '../../cluster/layout.ts';

describe('the Lull image on the local cluster', () => {
  it('reads the layout and reference build-image.sh prints', () => {
    expect(parseOciReference('oci:/root/.cache/lull/image/lull-ab12/oci:ghcr.io/lull-dev/lull:0.1.0\n')).toEqual({ layout: '/root/.cache/lull/image/lull-ab12/oci', reference: 'ghcr.io/lull-dev/lull:0.1.0' });
    expect(parseOciReference('built dist/lull.mjs in 900 ms')).toBeUndefined();
  });

  it('keeps the store in the cluster’s state dir and the layers in the shared cache', () => {
    expect(imageStore(clusterLayout({ LULL_CLUSTER_DIR: '/s' }))).toBe('/s/images');
    expect(layerCache({ LULL_CACHE_DIR: '/c' })).toBe('/c/layers');
    expect(layerCache({ XDG_CACHE_HOME: '/x' })).toBe('/x/lull/layers');
  });
});
