// The webhook configurations e2e runs register for a `lull webhook` on the host: what deploy/ registers
// (system namespaces and Lull's own objects excluded, validation only for objects with lull.dev/
// annotations), reached by URL and limited to namespaces carrying the run's scope label.
export function webhookConfigurations(name: string, url: string, scopeLabel: string) {
  const common = {
    admissionReviewVersions: ['v1'],
    rules: [
      { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
      { apiGroups: [''], apiVersions: ['v1'], resources: ['services'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
    ],
    failurePolicy: 'Ignore',
    sideEffects: 'None',
    timeoutSeconds: 3,
    // Only this run's namespaces: other e2e files share the cluster.
    namespaceSelector: {
      matchLabels: { [scopeLabel]: 'true' },
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'lull-system'] }],
    },
    objectSelector: { matchExpressions: [{ key: 'app.kubernetes.io/part-of', operator: 'NotIn', values: ['lull'] }] },
  };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name },
      webhooks: [{ name: 'mutate.lull.dev', clientConfig: { url: `${url}/mutate` }, reinvocationPolicy: 'Never', ...common }],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          name: 'validate.lull.dev',
          clientConfig: { url: `${url}/validate` },
          matchConditions: [{ name: 'has-lull-annotations', expression: "has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith('lull.dev/'))" }],
          ...common,
        },
      ],
    },
  ];
}
