{{/* Hand-written: what the generated templates include (scripts/chart.ts says where). */}}

{{- define "lull.namespace" -}}
{{ .Release.Namespace }}
{{- end }}

{{/* The one image of every part and of the injected sidecar: a digest wins over the tag. */}}
{{- define "lull.image" -}}
{{- $image := .Values.image -}}
{{- if $image.digest -}}
{{ $image.repository }}@{{ $image.digest }}
{{- else -}}
{{ $image.repository }}:{{ $image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/* Recommended labels Helm adds to every object; the selectors keep deploy/'s labels only. */}}
{{- define "lull.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "lull.podLabels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- with .root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The checksum rolls the pods when the defaults they read at start change. */}}
{{- define "lull.podAnnotations" -}}
checksum/defaults: {{ .root.Values.defaults | toJson | sha256sum | quote }}
{{- with .root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "lull.podSpec" -}}
{{- $v := .root.Values -}}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- if and (eq .part "webhook") $v.webhook.hostNetwork }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
{{- end }}

{{- define "lull.extraEnv" -}}
{{- with .Values.extraEnv }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* Only what differs from deploy/'s webhook, so the defaults render deploy/ exactly. */}}
{{- define "lull.webhookArgs" -}}
{{- if ne (int .Values.webhook.port) 9443 }}
- --port
- {{ .Values.webhook.port | quote }}
{{- end }}
{{- if ne .Values.image.pullPolicy "IfNotPresent" }}
- --sidecar-image-pull-policy
- {{ .Values.image.pullPolicy | quote }}
{{- end }}
{{- range .Values.imagePullSecrets }}
- --sidecar-image-pull-secret
- {{ .name | quote }}
{{- end }}
{{- with .Values.sidecar.resources }}
- --sidecar-resources
- {{ toJson . | quote }}
{{- end }}
{{- end }}
