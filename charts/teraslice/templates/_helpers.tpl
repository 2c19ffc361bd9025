{{/* The chart's name (nameOverride wins), cut to a valid label value. */}}
{{- define "teraslice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object's name: the release, plus the chart's name unless it holds it. */}}
{{- define "teraslice.fullname" -}}
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

{{/* A key of master.teraslice ("" when unset). */}}
{{- define "teraslice.masterKey" -}}
{{- $root := index . 0 -}}
{{- $master := ($root.Values.master | default dict).teraslice | default dict -}}
{{- index $master (index . 1) | default "" -}}
{{- end -}}

{{/* teraslice.name of the cluster: master.teraslice.name, else the release. */}}
{{- define "teraslice.clusterName" -}}
{{- include "teraslice.masterKey" (list . "name") | default .Release.Name -}}
{{- end -}}

{{/* The instance label the backend watches: the cluster name, [a-zA-Z0-9_.-] only, 63 long. */}}
{{- define "teraslice.instance" -}}
{{- regexReplaceAll "[^a-zA-Z0-9_.-]" (include "teraslice.clusterName" .) "_" | trunc 63 -}}
{{- end -}}

{{- define "teraslice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "teraslice.name" . }}
app.kubernetes.io/instance: {{ include "teraslice.instance" . }}
{{- end -}}

{{- define "teraslice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "teraslice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "teraslice.master.selectorLabels" -}}
{{ include "teraslice.selectorLabels" . }}
app.kubernetes.io/component: master
{{- end -}}

{{- define "teraslice.master.labels" -}}
{{ include "teraslice.labels" . }}
app.kubernetes.io/component: master
{{- end -}}

{{- define "teraslice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (printf "%s-master" (include "teraslice.fullname" .)) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, the tag defaulting to the chart's appVersion (image.nodeVersion is ignored). */}}
{{- define "teraslice.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString (.Values.image.tag | default .Chart.AppVersion)) -}}
{{- end -}}

{{/* The ConfigMap of the EC and worker pods: master.teraslice.kubernetes_config_map_name, else <fullname>-worker. */}}
{{- define "teraslice.workerConfigMapName" -}}
{{- include "teraslice.masterKey" (list . "kubernetes_config_map_name") | default (printf "%s-worker" (include "teraslice.fullname" .)) -}}
{{- end -}}

{{/* A list as YAML, or a string rendered with tpl (Teraslice's chart takes strings). */}}
{{- define "teraslice.listOrTpl" -}}
{{- $value := index . 0 -}}
{{- $root := index . 1 -}}
{{- if kindIs "string" $value -}}
{{- tpl $value $root | trimSuffix "\n" -}}
{{- else -}}
{{- toYaml $value -}}
{{- end -}}
{{- end -}}

{{/*
teraslice.yaml for "master" or "worker": terafoundation from .Values.terafoundation (plus
prom_metrics_display_url from the ingress), the teraslice keys the chart knows, then the user's
<role>.teraslice merged over them.
*/}}
{{- define "teraslice.config" -}}
{{- $ := index . 0 -}}
{{- $role := index . 1 -}}
{{- $tf := deepCopy ($.Values.terafoundation | default dict) -}}
{{- if hasKey $tf "prom_metrics_display_url" -}}
{{- $_ := set $tf "prom_metrics_display_url" (printf "%s/" (trimSuffix "/" (toString $tf.prom_metrics_display_url))) -}}
{{- else if and $.Values.ingress.enabled $.Values.ingress.hosts -}}
{{- $scheme := ternary "https://" "http://" (not (empty $.Values.ingress.tls)) -}}
{{- $_ := set $tf "prom_metrics_display_url" (printf "%s%s/" $scheme (trimSuffix "/" (index $.Values.ingress.hosts 0).host)) -}}
{{- end -}}
{{- $ts := dict
  "name" (include "teraslice.clusterName" $)
  "master" (eq $role "master")
  "master_hostname" (include "teraslice.fullname" $)
  "cluster_manager_type" "kubernetes"
  "kubernetes_namespace" $.Release.Namespace
  "kubernetes_image" (include "teraslice.image" $)
  "state" (dict "connection" $.Values.stateConnection)
-}}
{{- if eq $role "master" -}}
{{- $_ := set $ts "kubernetes_config_map_name" (printf "%s-worker" (include "teraslice.fullname" $)) -}}
{{- if $.Values.priorityClass.create -}}
{{- $_ := set $ts "kubernetes_priority_class_name" (include "teraslice.fullname" $) -}}
{{- end -}}
{{- if $.Values.persistence.enabled -}}
{{- $_ := set $ts "assets_volume" (printf "%s-assets" (include "teraslice.fullname" $)) -}}
{{- end -}}
{{- if $.Values.executionServiceAccount.create -}}
{{- $_ := set $ts "kubernetes_execution_service_account" (include "teraslice.executionServiceAccountName" $) -}}
{{- end -}}
{{- if $.Values.apiTokens.existingSecret -}}
{{- $_ := set $ts "api_tokens_file" (printf "/app/secrets/%s" $.Values.apiTokens.key) -}}
{{- end -}}
{{- end -}}
{{- $user := deepCopy ((index $.Values $role | default dict).teraslice | default dict) -}}
{{- $config := dict "terafoundation" $tf "teraslice" (mustMergeOverwrite $ts $user) -}}
{{- with $.Values.stats -}}
{{- $_ := set $config "stats" . -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The ServiceAccount of execution controller and worker pods. */}}
{{- define "teraslice.executionServiceAccountName" -}}
{{- default (printf "%s-execution" (include "teraslice.fullname" .)) .Values.executionServiceAccount.name -}}
{{- end -}}
