{{/*
Names, labels, image and environment shared by every template of the chart.
Per-process helpers take a dict: (dict "ctx" $ "service" "contacts" "process" "http").
*/}}

{{/* Chart name, shortened to fit a label value. */}}
{{- define "crm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-<chart>` prefix of resource names, or the release name alone when it already names the chart. */}}
{{- define "crm.fullname" -}}
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

{{/* The prefix cut to 40 characters, so that `<prefix>-conversations-migrate` still fits a 63-character DNS label. */}}
{{- define "crm.shortFullname" -}}
{{- include "crm.fullname" . | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "crm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of one process of one service, e.g. crm-contacts-grpc. Also the name of its Service. */}}
{{- define "crm.componentName" -}}
{{- printf "%s-%s-%s" (include "crm.shortFullname" .ctx) .service .process -}}
{{- end -}}

{{/* Labels of every resource of the release. */}}
{{- define "crm.commonLabels" -}}
helm.sh/chart: {{ include "crm.chart" . }}
app.kubernetes.io/name: {{ include "crm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: crm
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels that pick the pods of one process of one service; immutable once deployed. */}}
{{- define "crm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crm.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ printf "%s-%s" .service .process }}
{{- end -}}

{{/* Labels of a resource belonging to one process of one service. */}}
{{- define "crm.labels" -}}
{{ include "crm.commonLabels" .ctx }}
app.kubernetes.io/component: {{ printf "%s-%s" .service .process }}
crm/service: {{ .service }}
crm/process: {{ .process }}
{{- end -}}

{{/* Image reference: (dict "ctx" $ "image" $svc.image). global.imageRegistry wins; the tag defaults to global.imageTag, then appVersion. */}}
{{- define "crm.image" -}}
{{- $registry := default .image.registry .ctx.Values.global.imageRegistry -}}
{{- $tag := default (default .ctx.Chart.AppVersion .ctx.Values.global.imageTag) .image.tag | toString -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets of a pod spec; entries may be names or {name: ...} maps. */}}
{{- define "crm.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ if kindIs "map" . }}{{ .name | quote }}{{ else }}{{ . | quote }}{{ end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* A security context from values, or nothing when its `enabled` is false. */}}
{{- define "crm.securityContext" -}}
{{- if .enabled -}}
{{- omit . "enabled" | toYaml -}}
{{- end -}}
{{- end -}}

{{/*
Environment of every container of one service: (dict "ctx" $ "name" "contacts" "service" $svc "extraEnv" $list),
plus "storageDir" (the data volume's mountPath) for the processes that mount it.
Order: the platform contract, then global extraEnv, then the service's, then the process' (later wins).
*/}}
{{- define "crm.env" -}}
{{- $ctx := .ctx -}}
{{- $values := $ctx.Values -}}
{{- $name := .name -}}
- name: CRM_ENV
  value: production
- name: CRM_SERVICE
  value: {{ .name | quote }}
{{- if $values.externalDatabase.host }}
{{ include "crm.env.databaseParts" . }}
{{- else }}
- name: {{ printf "%s_DATABASE_URL" (upper .name) }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "services.%s.database.existingSecret is required: name an existing Secret that holds the %s database URL" .name .name) .service.database.existingSecret | quote }}
      key: {{ required (printf "services.%s.database.existingSecretKey is required: the key of the database URL in services.%s.database.existingSecret" .name .name) .service.database.existingSecretKey | quote }}
{{- end }}
{{- if $values.externalRabbitmq.host }}
{{ include "crm.env.rabbitmqParts" $ctx }}
{{- else }}
- name: CRM_AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "amqp.existingSecret is required: name an existing Secret that holds the RabbitMQ URL" $values.amqp.existingSecret | quote }}
      key: {{ required "amqp.existingSecretKey is required: the key of the RabbitMQ URL in amqp.existingSecret" $values.amqp.existingSecretKey | quote }}
{{- end }}
- name: CRM_JWT_JWKS_URL
  value: {{ required "auth.jwksUrl is required: the JWKS URL of the identity provider" $values.auth.jwksUrl | quote }}
- name: CRM_JWT_AUDIENCE
  value: {{ required "auth.audience is required" $values.auth.audience | quote }}
- name: CRM_JWT_ISSUER
  value: {{ required "auth.issuer is required" $values.auth.issuer | quote }}
{{ include "crm.grpcAuthEnv" (dict "ctx" $ctx "name" $name) }}
{{- range $other := keys $values.services | sortAlpha }}
- name: {{ printf "CRM_%s_GRPC_TARGET" (upper $other) }}
  value: {{ printf "dns:///%s.%s.svc.%s:50051" (include "crm.componentName" (dict "ctx" $ctx "service" $other "process" "grpc")) $ctx.Release.Namespace $values.clusterDomain | quote }}
{{- end }}
- name: PROMETHEUS_MULTIPROC_DIR
  value: /tmp/metrics
- name: CRM_MAX_JSON_BODY_BYTES
  value: {{ $values.limits.maxJsonBodyBytes | int64 | toString | quote }}
- name: CRM_RATE_LIMIT_PER_TOKEN
  value: {{ $values.limits.rateLimitPerToken | int64 | toString | quote }}
- name: CRM_RATE_LIMIT_PER_WORKSPACE
  value: {{ $values.limits.rateLimitPerWorkspace | int64 | toString | quote }}
{{- if eq .name "contacts" }}
- name: CONTACTS_MAX_FILE_BYTES
  value: {{ $values.limits.contactsMaxFileBytes | int64 | toString | quote }}
- name: CONTACTS_MAX_IMPORT_BYTES
  value: {{ $values.limits.contactsMaxImportBytes | int64 | toString | quote }}
- name: CONTACTS_MAX_ICON_BYTES
  value: {{ $values.limits.contactsMaxIconBytes | int64 | toString | quote }}
{{- end }}
{{- with .storageDir }}
- name: {{ printf "%s_STORAGE_DIR" (upper $name) }}
  value: {{ . | quote }}
{{- end }}
{{- if eq .name "mailer" }}
- name: MAILER_SMTP_HOST
  value: {{ required "mailer.smtp.host is required: the outbound SMTP relay" $values.mailer.smtp.host | quote }}
- name: MAILER_SMTP_PORT
  value: {{ $values.mailer.smtp.port | toString | quote }}
- name: MAILER_SMTP_STARTTLS
  value: {{ $values.mailer.smtp.starttls | ternary "true" "false" | quote }}
- name: MAILER_INBOUND_DOMAIN
  value: {{ required "mailer.inbound.domain is required: the domain of the inbound addresses" $values.mailer.inbound.domain | quote }}
- name: MAILER_INBOUND_MAX_BYTES
  value: {{ $values.mailer.inbound.maxBytes | int64 | toString | quote }}
- name: MAILER_INBOUND_PROCESSING
  value: {{ $values.mailer.inbound.processing | quote }}
- name: MAILER_INBOUND_SMTP_PORT
  value: "2525"
{{- with $values.mailer.inbound.authservId }}
- name: MAILER_INBOUND_AUTHSERV_ID
  value: {{ . | quote }}
{{- end }}
- name: MAILER_DKIM_ENCRYPTION_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $values.mailer.keys.existingSecret | quote }}
      key: {{ $values.mailer.keys.dkimEncryptionKeysKey | quote }}
- name: MAILER_TOKEN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $values.mailer.keys.existingSecret | quote }}
      key: {{ $values.mailer.keys.tokenKeyKey | quote }}
{{- with $values.mailer.publicUrl }}
- name: MAILER_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- with $values.mailer.from }}
- name: MAILER_FROM
  value: {{ . | quote }}
{{- end }}
{{- with $values.mailer.smtp.existingSecret }}
- name: MAILER_SMTP_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $values.mailer.smtp.existingSecretUsernameKey | quote }}
- name: MAILER_SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . | quote }}
      key: {{ $values.mailer.smtp.existingSecretPasswordKey | quote }}
{{- end }}
{{- end }}
{{ include "crm.env.settings" (dict "ctx" $ctx "name" .name) }}
{{- range $extra := list $values.extraEnv .service.extraEnv .extraEnv }}
{{- with $extra }}
{{ tpl (toYaml .) $ctx }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Writable scratch space: the root filesystem is read-only; prometheus-client's multiprocess files live in /tmp/metrics.
Plus, read-only, the CA certificates of the external PostgreSQL and RabbitMQ when their values name one.
*/}}
{{- define "crm.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: metrics
  mountPath: /tmp/metrics
{{- if and .Values.externalDatabase.host .Values.externalDatabase.caSecret }}
- name: postgresql-ca
  mountPath: {{ include "crm.tlsDir" "postgresql" }}
  readOnly: true
{{- end }}
{{- if and .Values.externalRabbitmq.host .Values.externalRabbitmq.tls.enabled .Values.externalRabbitmq.tls.caSecret }}
- name: rabbitmq-ca
  mountPath: {{ include "crm.tlsDir" "rabbitmq" }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "crm.volumes" -}}
- name: tmp
  emptyDir: {}
- name: metrics
  emptyDir: {}
{{- with .Values.externalDatabase }}
{{- if and .host .caSecret }}
- name: postgresql-ca
  secret:
    secretName: {{ .caSecret | quote }}
    items:
      - key: {{ .caSecretKey | quote }}
        path: {{ .caSecretKey | quote }}
{{- end }}
{{- end }}
{{- with .Values.externalRabbitmq }}
{{- if and .host .tls.enabled .tls.caSecret }}
- name: rabbitmq-ca
  secret:
    secretName: {{ .tls.caSecret | quote }}
    items:
      - key: {{ .tls.caSecretKey | quote }}
        path: {{ .tls.caSecretKey | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Persistence of one service: (dict "ctx" $ "name" "contacts" "service" $svc).
"crm.persistence.enabled" is "true" when the service mounts a data volume; "crm.persistence.claimName"
names the claim it mounts: persistence.existingClaim, else the chart's `<fullname>-<service>-data`.
*/}}
{{- define "crm.persistence.enabled" -}}
{{- $persistence := .service.persistence | default dict -}}
{{- if $persistence.enabled }}true{{ end -}}
{{- end -}}

{{- define "crm.persistence.claimName" -}}
{{- $persistence := .service.persistence | default dict -}}
{{- if $persistence.existingClaim -}}
{{- $persistence.existingClaim -}}
{{- else -}}
{{- include "crm.componentName" (dict "ctx" .ctx "service" .name "process" "data") -}}
{{- end -}}
{{- end -}}

{{/* What a probe checks, by process: HTTP on 8000, native gRPC on 50051, HTTP on the worker's 9100. (dict "process" "http" "path" "/healthz") */}}
{{/*
The processes of a service, space-separated: http, grpc and worker, the mailer's smtp (the inbound
listener) when mailer.inbound.enabled, and conversations' realtime (the WebSocket stream) when realtime.enabled.
And one process's block of values: services.<name>.<process>, the smtp one from mailer.inbound.listener and the
realtime one from realtime.server (each is one service's alone, so the services' blocks stay identical).
*/}}
{{- define "crm.processes" -}}
{{- if and (eq .name "mailer") .ctx.Values.mailer.inbound.enabled -}}
http grpc worker smtp
{{- else if and (eq .name "conversations") .ctx.Values.realtime.enabled -}}
http grpc worker realtime
{{- else -}}
http grpc worker
{{- end -}}
{{- end -}}

{{- define "crm.process" -}}
{{- if eq .process "smtp" -}}
{{- toYaml .ctx.Values.mailer.inbound.listener -}}
{{- else if eq .process "realtime" -}}
{{- toYaml .ctx.Values.realtime.server -}}
{{- else -}}
{{- toYaml (get .service .process) -}}
{{- end -}}
{{- end -}}

{{- define "crm.probeHandler" -}}
{{- if eq .process "grpc" -}}
grpc:
  port: 50051
{{- else -}}
httpGet:
  path: {{ .path }}
  port: {{ eq .process "http" | ternary "http" "metrics" }}
{{- end -}}
{{- end -}}

{{/*
ingress-nginx annotations matching the services' limits: the body cap is the largest any endpoint takes (the
contacts uploads with their multipart envelope; each service refuses more precisely itself), and the
per-client request rate and connection count. Annotations given in ingress.annotations win.
*/}}
{{- define "crm.ingressLimitAnnotations" -}}
{{- $limits := .Values.limits -}}
{{- $body := max ($limits.maxJsonBodyBytes | int64) (add ($limits.contactsMaxFileBytes | int64) 65536) (add ($limits.contactsMaxImportBytes | int64) 65536) (add ($limits.contactsMaxIconBytes | int64) 16384) -}}
nginx.ingress.kubernetes.io/proxy-body-size: {{ $body | int64 | toString | quote }}
nginx.ingress.kubernetes.io/proxy-request-buffering: "on"
nginx.ingress.kubernetes.io/limit-rpm: {{ $limits.ingress.requestsPerMinute | int64 | toString | quote }}
nginx.ingress.kubernetes.io/limit-burst-multiplier: {{ $limits.ingress.burstMultiplier | int64 | toString | quote }}
nginx.ingress.kubernetes.io/limit-connections: {{ $limits.ingress.connections | int64 | toString | quote }}
{{- end -}}
