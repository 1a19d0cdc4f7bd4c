// Command crm-render renders a Helm chart the way `helm template` does, for machines without helm.
//
// It implements only what the crm chart needs: values.yaml deep-merged with -f files, named
// templates from _*.tpl, sprig plus the helm functions (include, tpl, required, toYaml, fromYaml,
// toJson, fromJson, lookup), .Capabilities, .Release, .Chart, .Template and .Files.Get.
// Schema validation of values is left to the Python tests.
//
// Usage: crm-render [--namespace NS] [--api-versions GROUP/VERSION]... [-f values.yaml]... RELEASE CHART_DIR
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// apiVersions answers .Capabilities.APIVersions.Has like a cluster with the Prometheus operator.
type apiVersions []string

func (a apiVersions) Has(version string) bool {
	for _, v := range a {
		if v == version || strings.HasPrefix(version, v+"/") {
			return true
		}
	}
	return false
}

var defaultAPIVersions = apiVersions{
	"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v1", "autoscaling/v2",
	"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "monitoring.coreos.com/v1",
}

type kubeVersion struct{ Version, Major, Minor, GitVersion string }

type capabilities struct {
	APIVersions apiVersions
	KubeVersion kubeVersion
}

// files serves .Files.Get and .Files.Glob for every chart file outside templates/.
type files map[string][]byte

func (f files) Get(name string) string { return string(f[name]) }

func (f files) GetBytes(name string) []byte { return f[name] }

func (f files) Glob(pattern string) files {
	out := files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fset := flag.NewFlagSet("crm-render", flag.ContinueOnError)
	var valueFiles, extraAPIs stringList
	fset.Var(&valueFiles, "f", "values file to merge over values.yaml (repeatable)")
	fset.Var(&valueFiles, "values", "same as -f")
	fset.Var(&extraAPIs, "api-versions", "extra API version the fake cluster serves (repeatable)")
	namespace := fset.String("namespace", "default", "release namespace")
	showNotes := fset.Bool("show-notes", false, "print the rendered NOTES.txt to stderr")
	// Accept flags before, between and after the positional arguments, like helm.
	var positional []string
	for {
		if err := fset.Parse(args); err != nil {
			return err
		}
		if fset.NArg() == 0 {
			break
		}
		positional = append(positional, fset.Arg(0))
		args = fset.Args()[1:]
	}
	if len(positional) != 2 {
		return errors.New("usage: crm-render [flags] RELEASE CHART_DIR")
	}
	release, chartDir := positional[0], positional[1]

	chart, err := loadChart(chartDir)
	if err != nil {
		return err
	}
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range valueFiles {
		override, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		values = mergeValues(values, override)
	}
	if _, ok := values["global"]; !ok {
		values["global"] = map[string]interface{}{}
	}
	chartFiles, templates, err := loadFiles(chartDir)
	if err != nil {
		return err
	}
	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": *namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Capabilities": capabilities{
			APIVersions: append(append(apiVersions{}, defaultAPIVersions...), extraAPIs...),
			KubeVersion: kubeVersion{Version: "v1.30.0", Major: "1", Minor: "30", GitVersion: "v1.30.0"},
		},
		"Files": chartFiles,
	}
	chartName, _ := chart["Name"].(string)
	rendered, err := render(chartName, templates, top)
	if err != nil {
		return err
	}
	return emit(rendered, *showNotes)
}

func loadChart(dir string) (map[string]interface{}, error) {
	raw, err := readYAMLMap(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	// Helm exposes Chart.yaml keys capitalised: appVersion -> AppVersion, apiVersion -> APIVersion.
	chart := map[string]interface{}{}
	for k, v := range raw {
		if k == "apiVersion" {
			chart["APIVersion"] = v
			continue
		}
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}
	if chart["Name"] == nil || chart["Version"] == nil {
		return nil, fmt.Errorf("%s/Chart.yaml: name and version are required", dir)
	}
	return chart, nil
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if out == nil {
		out = map[string]interface{}{}
	}
	return out, nil
}

// mergeValues deep-merges override into base; a null in override deletes the key, as in helm.
func mergeValues(base, override map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		if v == nil {
			delete(out, k)
			continue
		}
		if om, ok := v.(map[string]interface{}); ok {
			if bm, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

type chartTemplate struct {
	name string // e.g. crm/templates/deployments.yaml
	body string
}

func loadFiles(dir string) (files, []chartTemplate, error) {
	chartFiles := files{}
	var templates []chartTemplate
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(rel, "templates/") {
			templates = append(templates, chartTemplate{name: rel, body: string(data)})
		} else {
			chartFiles[rel] = data
		}
		return nil
	})
	return chartFiles, templates, err
}

func isHelper(name string) bool { return strings.HasPrefix(path.Base(name), "_") }

func funcMap(root **template.Template) template.FuncMap {
	fm := sprig.TxtFuncMap()
	delete(fm, "env")
	delete(fm, "expandenv")
	fm["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	fm["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	fm["fromJson"] = fm["fromYaml"]
	fm["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	fm["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	fm["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := (*root).ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	fm["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := (*root).Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	return fm
}

type renderedTemplate struct {
	name string
	body string
}

func render(chartName string, templates []chartTemplate, top map[string]interface{}) ([]renderedTemplate, error) {
	// Helpers first so their named templates exist before any manifest refers to them.
	sort.SliceStable(templates, func(i, j int) bool {
		hi, hj := isHelper(templates[i].name), isHelper(templates[j].name)
		if hi != hj {
			return hi
		}
		return templates[i].name < templates[j].name
	})
	var root *template.Template
	root = template.New(chartName).Option("missingkey=zero").Funcs(funcMap(&root))
	for _, t := range templates {
		if _, err := root.New(chartName + "/" + t.name).Parse(t.body); err != nil {
			return nil, err
		}
	}
	var out []renderedTemplate
	for _, t := range templates {
		if isHelper(t.name) {
			continue
		}
		full := chartName + "/" + t.name
		data := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": full, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, full, data); err != nil {
			return nil, err
		}
		out = append(out, renderedTemplate{name: full, body: strings.ReplaceAll(buf.String(), "<no value>", "")})
	}
	return out, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func emit(rendered []renderedTemplate, showNotes bool) error {
	var buf bytes.Buffer
	for _, r := range rendered {
		if strings.HasSuffix(r.name, "NOTES.txt") {
			if showNotes {
				fmt.Fprint(os.Stderr, r.body)
			}
			continue
		}
		if !strings.HasSuffix(r.name, ".yaml") && !strings.HasSuffix(r.name, ".yml") {
			continue
		}
		for _, doc := range docSeparator.Split(r.body, -1) {
			if strings.TrimSpace(doc) == "" || isOnlyComments(doc) {
				continue
			}
			var probe interface{}
			if err := yaml.Unmarshal([]byte(doc), &probe); err != nil {
				return fmt.Errorf("YAML parse error on %s: %w\n%s", r.name, err, doc)
			}
			fmt.Fprintf(&buf, "---\n# Source: %s\n%s\n", r.name, strings.Trim(doc, "\n"))
		}
	}
	_, err := os.Stdout.Write(buf.Bytes())
	return err
}

func isOnlyComments(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}
