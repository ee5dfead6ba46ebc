{{/* The helpers the stand-in's templates share, named as deploy-kube's. */}}

{{- define "openwhisk.fullname" -}}
{{ .Release.Name }}-{{ .Chart.Name }}
{{- end -}}

{{- define "openwhisk.label_boilerplate" -}}
heritage: {{ .Release.Service | quote }}
release: {{ .Release.Name | quote }}
chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"
app: {{ include "openwhisk.fullname" . }}
{{- end -}}

{{/* host NAME: a service's in-cluster DNS name. */}}
{{- define "openwhisk.svc" -}}
{{ .root.Release.Name }}-{{ .name }}.{{ .root.Release.Namespace }}.svc.{{ .root.Values.k8s.domain }}
{{- end -}}

{{- define "openwhisk.image" -}}
"{{ .root.Values.docker.registry.name }}{{ .image.imageName }}:{{ .image.imageTag }}"
{{- end -}}

{{- define "openwhisk.runtimes_manifest" -}}
{{ .Files.Get .Values.whisk.runtimes | trim | quote }}
{{- end -}}

{{- define "openwhisk.docker.imagePullSecrets" -}}
{{- if .Values.docker.registry.name }}
imagePullSecrets:
- name: {{ .Release.Name }}-private-registry.auth
{{- end }}
{{- end -}}

{{- define "openwhisk.toleration" -}}
- key: "openwhisk-role"
  operator: "Equal"
  value: {{ . }}
  effect: "NoSchedule"
{{- end -}}

{{- define "openwhisk.selfAntiAffinity" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
  - labelSelector:
      matchExpressions:
      - key: name
        operator: In
        values:
        - {{ . }}
    topologyKey: "kubernetes.io/hostname"
{{- end -}}

{{- define "openwhisk.waitForController" -}}
- name: "wait-for-controller"
  image: {{ include "openwhisk.image" (dict "root" . "image" .Values.busybox) }}
  imagePullPolicy: "IfNotPresent"
  env:
  - name: "READINESS_URL"
    value: http://{{ include "openwhisk.svc" (dict "root" . "name" "controller") }}:{{ .Values.controller.port }}/ping
  command: ["sh", "-c", "result=1; until [ $result -eq 0 ]; do echo 'Checking controller readiness'; wget -T 5 --spider $READINESS_URL; result=$?; sleep 1; done; echo 'Success: controller is ready'"]
{{- end -}}

{{/* What the controller and the invoker read from the whisk and db ConfigMaps and Secrets. */}}
{{- define "openwhisk.configMapEnv" -}}
{{- $root := .root -}}
{{- range .vars }}
- name: {{ index . 0 | quote }}
  valueFrom:
    {{ index . 1 }}:
      name: {{ $root.Release.Name }}-{{ index . 2 }}
      key: {{ index . 3 }}
{{- end }}
{{- end -}}

{{- define "openwhisk.limitsEnvVars" -}}
{{- $l := .Values.whisk.limits -}}
{{- $a := $l.actions -}}
- name: "LIMITS_ACTIONS_INVOKES_PERMINUTE"
  value: {{ $l.actionsInvokesPerminute | quote }}
- name: "LIMITS_ACTIONS_INVOKES_CONCURRENT"
  value: {{ $l.actionsInvokesConcurrent | quote }}
- name: "LIMITS_TRIGGERS_FIRES_PERMINUTE"
  value: {{ $l.triggersFiresPerminute | quote }}
- name: "LIMITS_ACTIONS_SEQUENCE_MAXLENGTH"
  value: {{ $l.actionsSequenceMaxlength | quote }}
{{- range list (list "time" "timeLimit") (list "memory" "memory") (list "concurrency" "concurrencyLimit") (list "log" "logLimit") }}
{{- $v := index $a (index . 0) }}
{{- $n := index . 1 }}
- name: "CONFIG_whisk_{{ $n }}_min"
  value: {{ $v.min | quote }}
- name: "CONFIG_whisk_{{ $n }}_max"
  value: {{ $v.max | quote }}
- name: "CONFIG_whisk_{{ $n }}_std"
  value: {{ $v.std | quote }}
{{- end }}
- name: "CONFIG_whisk_activation_payload_max"
  value: {{ $l.activation.payload.max | quote }}
{{- end -}}

{{- define "openwhisk.dbEnvVars" -}}
{{ include "openwhisk.configMapEnv" (dict "root" . "vars" (list
  (list "CONFIG_whisk_couchdb_username" "secretKeyRef" "db.auth" "db_username")
  (list "CONFIG_whisk_couchdb_password" "secretKeyRef" "db.auth" "db_password")
  (list "CONFIG_whisk_couchdb_port" "configMapKeyRef" "db.config" "db_port")
  (list "CONFIG_whisk_couchdb_protocol" "configMapKeyRef" "db.config" "db_protocol"))) }}
- name: "CONFIG_whisk_couchdb_host"
  value: "{{ include "openwhisk.svc" (dict "root" . "name" "couchdb") }}"
{{- include "openwhisk.configMapEnv" (dict "root" . "vars" (list
  (list "CONFIG_whisk_couchdb_provider" "configMapKeyRef" "db.config" "db_provider")
  (list "CONFIG_whisk_couchdb_databases_WhiskActivation" "configMapKeyRef" "db.config" "db_whisk_activations")
  (list "CONFIG_whisk_couchdb_databases_WhiskEntity" "configMapKeyRef" "db.config" "db_whisk_actions")
  (list "CONFIG_whisk_couchdb_databases_WhiskAuth" "configMapKeyRef" "db.config" "db_whisk_auths"))) }}
{{- end -}}

{{- define "openwhisk.kafkaConfigEnvVars" -}}
- name: "CONFIG_whisk_kafka_replicationFactor"
  value: {{ .Values.whisk.kafka.replicationFactor | quote }}
- name: "CONFIG_whisk_kafka_topics_prefix"
  value: {{ .Values.whisk.kafka.topics.prefix | quote }}
{{- $topics := .Values.whisk.kafka.topics }}
{{- range list "cacheInvalidation" "completed" "events" "health" "invoker" "scheduler" "creationAck" }}
{{- $t := index $topics . }}
- name: "CONFIG_whisk_kafka_topics_{{ . }}_retentionBytes"
  value: {{ $t.retentionBytes | quote }}
- name: "CONFIG_whisk_kafka_topics_{{ . }}_retentionMs"
  value: {{ $t.retentionMs | quote }}
- name: "CONFIG_whisk_kafka_topics_{{ . }}_segmentBytes"
  value: {{ $t.segmentBytes | quote }}
{{- end }}
{{- end -}}
