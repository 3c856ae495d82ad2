/**
 * A Kubernetes MicroTime (Lease renewTime/acquireTime, Event eventTime): the apiserver wants exactly
 * six fractional digits, and JS dates (client-node's too) give three, which is refused.
 */
export function microTime(at: Date | number = new Date()): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
