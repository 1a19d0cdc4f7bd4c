{{/*
External PostgreSQL and RabbitMQ given by parts, platform settings and pod scheduling helpers (chart issue 8).
Secrets reach the containers through secretKeyRef only, so no password is ever rendered.
*/}}

{{/* Where the CA certificate of a backing service is mounted: "postgresql" or "rabbitmq". */}}
{{- define "crm.tlsDir" -}}
{{- printf "/etc/crm/tls/%s" . -}}
{{- end -}}

{{/*
<SERVICE>_DATABASE_URL composed from externalDatabase and services.<name>.database: (dict "ctx" $ "name" .. "service" ..).
libpq reads the password from PGPASSWORD when the URL has none, so the URL needs no escaping of it.
*/}}
{{- define "crm.env.databaseParts" -}}
{{- $external := .ctx.Values.externalDatabase -}}
{{- $db := .service.database -}}
{{- $database := default (printf "%s%s" $external.databasePrefix .name) $db.name -}}
{{- $user := default (default $database $external.user) $db.user -}}
{{- $sslmode := $external.sslmode -}}
{{- if and $external.caSecret (not $sslmode) -}}
{{- $sslmode = "verify-full" -}}
{{- end -}}
{{- $query := list -}}
{{- with $sslmode -}}
{{- $query = append $query (printf "sslmode=%s" .) -}}
{{- end -}}
{{- with $external.caSecret -}}
{{- $query = append $query (printf "sslrootcert=%s/%s" (include "crm.tlsDir" "postgresql") $external.caSecretKey) -}}
{{- end -}}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "externalDatabase.existingSecret is required when externalDatabase.host is set: name an existing Secret that holds the database password" $external.existingSecret | quote }}
      key: {{ required "externalDatabase.existingSecretPasswordKey is required" (default $external.existingSecretPasswordKey $db.existingSecretPasswordKey) | quote }}
- name: {{ printf "%s_DATABASE_URL" (upper .name) }}
  value: {{ printf "postgresql+psycopg://%s@%s:%s/%s%s" $user $external.host ($external.port | toString) $database (ternary (printf "?%s" (join "&" $query)) "" (gt (len $query) 0)) | quote }}
{{- end -}}

{{/*
CRM_AMQP_URL composed from externalRabbitmq: Kubernetes expands $(CRM_AMQP_PASSWORD) from the Secret.
amqps:// alone verifies the server against the image's system CAs and the host name (pika's default
context); a CA Secret replaces the system CAs through pika's ssl_options URL parameter.
*/}}
{{- define "crm.env.rabbitmqParts" -}}
{{- $rabbit := .Values.externalRabbitmq -}}
{{- $vhost := urlquery $rabbit.vhost | replace "+" "%20" -}}
{{- $query := "" -}}
{{- if and $rabbit.tls.enabled $rabbit.tls.caSecret -}}
{{- $ca := printf "%s/%s" (include "crm.tlsDir" "rabbitmq") $rabbit.tls.caSecretKey -}}
{{- $query = printf "?ssl_options=%s" (urlquery (printf "{'ca_certs': '%s'}" $ca)) -}}
{{- end -}}
- name: CRM_AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "externalRabbitmq.existingSecret is required when externalRabbitmq.host is set: name an existing Secret that holds the RabbitMQ password" $rabbit.existingSecret | quote }}
      key: {{ required "externalRabbitmq.existingSecretPasswordKey is required" $rabbit.existingSecretPasswordKey | quote }}
- name: CRM_AMQP_URL
  value: {{ printf "%s://%s:$(CRM_AMQP_PASSWORD)@%s:%s/%s%s" (ternary "amqps" "amqp" $rabbit.tls.enabled) $rabbit.user $rabbit.host ($rabbit.port | toString) $vhost $query | quote }}
{{- end -}}

{{/* The settings block as environment variables, each only when set: (dict "ctx" $ "name" "contacts"). */}}
{{- define "crm.env.settings" -}}
{{- $values := .ctx.Values -}}
{{- $vars := dict
    "CRM_LOG_LEVEL" $values.settings.logLevel
    "CRM_HTTP_WORKERS" $values.settings.httpWorkers
    "CRM_HTTP_THREADS" $values.settings.httpThreads
    "CRM_GRPC_WORKERS" $values.settings.grpcWorkers
    "CRM_GRPC_DEADLINE_SECONDS" $values.settings.grpcDeadlineSeconds
    "CRM_EVENT_MAX_ATTEMPTS" $values.settings.eventMaxAttempts
    "CRM_EVENT_RETRY_BASE_SECONDS" $values.settings.eventRetryBaseSeconds -}}
{{- range $name := keys $vars | sortAlpha }}
{{- $value := get $vars $name }}
{{- if not (kindIs "invalid" $value) }}
{{- if and (kindIs "float64" $value) (eq (float64 (int64 $value)) $value) }}
{{- $value = int64 $value }}{{/* YAML numbers arrive as floats: 10485760, not 1.048576e+07 */}}
{{- end }}
{{- if ne (toString $value) "" }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The ServiceAccount every pod of the release runs as. */}}
{{- define "crm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "crm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Affinity of one process: its own `affinity` when set, else the anti-affinity preset over its pods. (dict "ids" $ids "proc" $proc) */}}
{{- define "crm.affinity" -}}
{{- if .proc.affinity -}}
{{- toYaml .proc.affinity -}}
{{- else if eq .proc.podAntiAffinityPreset "soft" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 1
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "crm.selectorLabels" .ids | nindent 12 }}
{{- else if eq .proc.podAntiAffinityPreset "hard" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "crm.selectorLabels" .ids | nindent 10 }}
{{- end -}}
{{- end -}}
