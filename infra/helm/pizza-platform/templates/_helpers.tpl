{{/* Labels every resource carries, beside its pizza.selector ones. */}}
{{- define "pizza.labels" -}}
app.kubernetes.io/part-of: pizza-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Selector of one component: (dict "root" $ "name" "order"). */}}
{{- define "pizza.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .name }}
{{- end }}

{{/* The resource name of a component. */}}
{{- define "pizza.fullname" -}}
{{ .root.Release.Name }}-{{ .name }}
{{- end }}

{{/* One of the platform's images: (dict "root" $ "repository" "pizza-order"). */}}
{{- define "pizza.image" -}}
{{ .root.Values.image.registry }}/{{ .repository }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end }}

{{/*
What the images fix and the chart must match: port, settings prefix, Kafka principal,
the image repository, and what each writes. kitchen is a StatefulSet whatever its
database: a stable pod name is a stable transactional id (kitchen-tx-<instance>), so a
restarted kitchen fences its own unfinished transaction instead of waiting it out.
*/}}
{{- define "pizza.serviceFacts" -}}
order: {prefix: ORDER, port: 8001, image: pizza-order, kafkaUser: order-svc, oauthClient: order-svc}
payment: {prefix: PAYMENT, port: 8002, image: pizza-payment, kafkaUser: ""}
kitchen: {prefix: KITCHEN, port: 8011, image: pizza-kitchen, kafkaUser: kitchen-svc, stableNames: true}
delivery: {prefix: DELIVERY, port: 8004, image: pizza-delivery, kafkaUser: delivery-svc}
{{- end }}

{{/* Pod-level security: a fixed non-root user (the images' 10001 unless given). */}}
{{- define "pizza.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security; readOnlyRootFilesystem unless told (only Keycloak is). */}}
{{- define "pizza.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ ne . "writableRoot" }}
runAsNonRoot: true
privileged: false
capabilities:
  drop: [ALL]
{{- end }}

{{- define "pizza.kafkaBootstrap" -}}
{{- if .Values.features.strimzi -}}
{{ .Values.kafka.clusterName }}-kafka-bootstrap:9092
{{- else -}}
{{ required "kafka.bootstrapServers is needed when features.strimzi is off" .Values.kafka.bootstrapServers }}
{{- end }}
{{- end }}

{{/* SCRAM and ACLs on the Strimzi cluster: the one switch every client follows. */}}
{{- define "pizza.kafkaAuth" -}}
{{- if and .Values.features.strimzi .Values.features.kafkaAuthentication }}true{{ end }}
{{- end }}

{{- define "pizza.registryUrl" -}}
http://{{ .Release.Name }}-registry:8080/apis/ccompat/v7
{{- end }}

{{- define "pizza.keycloakUrl" -}}
http://{{ .Release.Name }}-keycloak:8080
{{- end }}

{{- define "pizza.identitySecret" -}}
{{ .Values.identityProvider.existingSecret | default (printf "%s-identity" .Release.Name) }}
{{- end }}

{{/*
Kafka for a workload: where, and who (dict "root" $ "user" "kitchen-svc"). The SCRAM
password is the one Strimzi's user operator keeps in the Secret named after the user.
*/}}
{{- define "pizza.kafkaEnv" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ include "pizza.kafkaBootstrap" .root | quote }}
- name: SCHEMA_REGISTRY_URL
  value: {{ include "pizza.registryUrl" .root | quote }}
{{- if and (include "pizza.kafkaAuth" .root) .user }}
- name: KAFKA_SECURITY_PROTOCOL
  value: SASL_PLAINTEXT
- name: KAFKA_SASL_MECHANISM
  value: SCRAM-SHA-512
- name: KAFKA_SASL_USERNAME
  value: {{ .user }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .user }}, key: password}
{{- end }}
{{- end }}

{{- define "pizza.tracingEnv" -}}
{{- if .root.Values.features.tracing }}
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: http://{{ .root.Release.Name }}-otel-collector:4318
- name: OTEL_SERVICE_NAME
  value: {{ .service }}
{{- end }}
{{- end }}

{{/* HTTP probes on a port: (dict "port" 8001 "live" "/health" "ready" "/ready"). */}}
{{- define "pizza.probes" -}}
startupProbe:
  httpGet: {path: {{ .live }}, port: {{ .port }}}
  periodSeconds: 5
  failureThreshold: {{ .startupFailures | default 24 }}
livenessProbe:
  httpGet: {path: {{ .live }}, port: {{ .port }}}
  periodSeconds: 10
  timeoutSeconds: 4
  failureThreshold: 3
readinessProbe:
  httpGet: {path: {{ .ready }}, port: {{ .port }}}
  periodSeconds: 5
  timeoutSeconds: 4
  failureThreshold: 2
{{- end }}

{{/* A PodDisruptionBudget: keep one up when there are several, else allow the one to move. */}}
{{- define "pizza.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "pizza.fullname" . }}
  labels:
    {{- include "pizza.labels" .root | nindent 4 }}
    {{- include "pizza.selector" . | nindent 4 }}
spec:
  {{- if gt (int .replicas) 1 }}
  minAvailable: 1
  {{- else }}
  maxUnavailable: 1
  {{- end }}
  selector:
    matchLabels:
      {{- include "pizza.selector" . | nindent 6 }}
{{- end }}
