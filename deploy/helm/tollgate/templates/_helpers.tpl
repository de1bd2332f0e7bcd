{{/* Chart name, release-scoped full name and per-service names. */}}
{{- define "tollgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tollgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of one service's objects. Call with (dict "root" $ "svc" $svc), plus "suffix" for a
second object of the service ("-grpc", "-migrate"). Within 63 characters, the release part
is shortened and the service's own part kept whole, so services never share a name.
*/}}
{{- define "tollgate.svcName" -}}
{{- $own := printf "-%s%s" .svc.name (default "" .suffix) -}}
{{- $release := include "tollgate.fullname" .root | trunc (int (sub 63 (len $own))) | trimSuffix "-" -}}
{{- printf "%s%s" $release $own -}}
{{- end -}}

{{- define "tollgate.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: tollgate
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "tollgate.labels" -}}
{{ include "tollgate.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one service. Call with (dict "root" $ "svc" $svc). */}}
{{- define "tollgate.svcLabels" -}}
{{ include "tollgate.commonLabels" .root }}
{{ include "tollgate.svcSelectorLabels" . }}
{{- end -}}

{{- define "tollgate.svcSelectorLabels" -}}
app.kubernetes.io/name: {{ .svc.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "tollgate.image" -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.prefix) .svc.name (default .root.Chart.AppVersion .root.Values.image.tag | toString) -}}
{{- end -}}

{{- define "tollgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tollgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The headless Service of a gRPC service. */}}
{{- define "tollgate.grpcSvcName" -}}
{{- include "tollgate.svcName" (dict "root" .root "svc" .svc "suffix" "-grpc") -}}
{{- end -}}

{{/*
A gRPC backend's address, by its key in .Values.services: its headless Service through
gRPC's DNS resolver, so a client sees every ready pod (the gateway spreads calls round-robin
over them) rather than one ClusterIP that balances per long-lived connection; servers recycle
connections (max connection age) so clients pick up pods added later.
*/}}
{{- define "tollgate.grpcAddr" -}}
{{- $svc := index .root.Values.services .key -}}
{{- printf "dns:///%s:%v" (include "tollgate.grpcSvcName" (dict "root" .root "svc" $svc)) $svc.grpcPort -}}
{{- end -}}

{{/* The DSN of a service's own database, from the PostgreSQL Secret; with "pooled" (the
services, not their migration Jobs) and pgbouncer.enabled, the DSN through PgBouncer, and
auth-svc's LISTEN on PostgreSQL itself. */}}
{{- define "tollgate.databaseEnv" -}}
{{- $secret := required "postgresql.existingSecret is required" .root.Values.postgresql.existingSecret -}}
{{- $direct := required (printf "postgresql.secretKeys.%s is required" .key) (index .root.Values.postgresql.secretKeys .key) -}}
{{- if and .pooled .root.Values.pgbouncer.enabled }}
- name: {{ .svc.envPrefix }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required (printf "pgbouncer.pooledSecretKeys.%s is required" .key) (index .root.Values.pgbouncer.pooledSecretKeys .key) }}
{{- if eq .svc.envPrefix "AUTH" }}
- name: AUTH_DATABASE_LISTEN_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $direct }}
{{- end }}
{{- else }}
- name: {{ .svc.envPrefix }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $direct }}
{{- end }}
{{- end -}}
