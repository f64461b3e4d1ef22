{{/* Chart name, overridable. */}}
{{- define "agentmeter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every object name. With the release name "agentmeter" it is "agentmeter", so the chart
installs the same names as `kubectl apply -k config/default` (see "agentmeter.configName").
*/}}
{{- define "agentmeter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "agentmeter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: agentmeter
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{- define "agentmeter.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "agentmeter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "agentmeter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The aggregator runs the operator's image unless told otherwise. */}}
{{- define "agentmeter.aggregatorImage" -}}
{{- $a := .Values.aggregator.image }}
{{- if or $a.repository $a.tag }}
{{- printf "%s:%s" (default .Values.image.repository $a.repository) (default (default .Chart.AppVersion .Values.image.tag) $a.tag) }}
{{- else }}
{{- include "agentmeter.image" . }}
{{- end }}
{{- end }}

{{/*
RBAC comes from config/rbac (copied to files/rbac by `make manifests`): one source for the chart and
config/default. Yields the documents of those files as a YAML list.
*/}}
{{- define "agentmeter.rbacDocuments" -}}
{{- $docs := list }}
{{- range $path, $_ := .Files.Glob "files/rbac/*.yaml" }}
{{- range $text := regexSplit "(?m)^---[ \t]*$" ($.Files.Get $path) -1 }}
{{- $doc := fromYaml $text }}
{{- if $doc.kind }}
{{- $docs = append $docs $doc }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $docs }}
{{- end }}

{{/*
The chart's name for an object config/ names "agentmeter…": the leading "agentmeter" becomes the
fullname, so release "agentmeter" installs the very names of config/default and another release
gets names of its own (cluster-scoped RBAC must not clash). Other names get "<fullname>-" in front.
*/}}
{{- define "agentmeter.configName" -}}
{{- $fullname := include "agentmeter.fullname" .root }}
{{- if hasPrefix "agentmeter" .name }}
{{- printf "%s%s" $fullname (trimPrefix "agentmeter" .name) }}
{{- else }}
{{- printf "%s-%s" $fullname .name }}
{{- end }}
{{- end }}

{{/* The operator's ServiceAccount: config/rbac's "agentmeter-operator". */}}
{{- define "agentmeter.serviceAccountName" -}}
{{- include "agentmeter.accountName" (dict "root" . "name" "agentmeter-operator") }}
{{- end }}

{{/* The aggregator pods' ServiceAccount (the operator names it in their Deployment): config/rbac's "agentmeter-aggregator". */}}
{{- define "agentmeter.aggregatorServiceAccountName" -}}
{{- include "agentmeter.accountName" (dict "root" . "name" "agentmeter-aggregator") }}
{{- end }}

{{/* A ServiceAccount config/rbac declares, by its config/ name, as the chart names it. */}}
{{- define "agentmeter.accountName" -}}
{{- $found := false }}
{{- range (include "agentmeter.rbacDocuments" .root | fromYamlArray) }}
{{- if and (eq .kind "ServiceAccount") (eq .metadata.name $.name) }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "files/rbac (config/rbac) holds no ServiceAccount %s: run `make manifests`" .name) }}
{{- end }}
{{- include "agentmeter.configName" (dict "root" .root "name" .name) }}
{{- end }}
