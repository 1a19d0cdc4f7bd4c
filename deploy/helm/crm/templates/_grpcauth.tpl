{{/*
gRPC authentication and listening: the environment every container of one service gets on top of crm.env.
(dict "ctx" $ "name" "contacts"). The private key of the service only, and the public keys it trusts.
*/}}
{{- define "crm.serviceKeysSecret" -}}
{{- .Values.grpcAuth.existingSecret | default (include "crm.componentName" (dict "ctx" . "service" "service" "process" "keys")) -}}
{{- end -}}

{{- define "crm.grpcAuthEnv" -}}
{{- $values := .ctx.Values -}}
- name: CRM_LISTEN_HOST
  value: {{ $values.listen.host | quote }}
- name: CRM_GRPC_REFLECTION
  value: {{ $values.grpcAuth.reflection | toString | quote }}
- name: {{ printf "%s_SERVICE_KEY" (upper .name) }}
  valueFrom:
    secretKeyRef:
      name: {{ include "crm.serviceKeysSecret" .ctx | quote }}
      key: {{ .name | quote }}
- name: CRM_TRUSTED_SERVICE_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "crm.serviceKeysSecret" .ctx | quote }}
      key: trusted
{{- end -}}
