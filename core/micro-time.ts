/**
 * A Kubernetes MicroTime (Lease renewTime/acquireTime, events.k8s.io eventTime): the apiserver wants
 * exactly six fractional digits, and client-node sends a Date as JS's three, which is refused.
 */
export function microTime(date: Date = new Date()): Date {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}
