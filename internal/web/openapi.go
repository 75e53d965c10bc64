package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

// openAPIDocument is the hand-written OpenAPI 3.1 description of the API.
// Tests validate real responses against it.
//
//go:embed openapi/openapi.json
var openAPIDocument []byte

// handleOpenAPI serves GET /api/openapi.json.
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPIDocument)
	})
}

// The docs page is rendered from the document once, at start-up.
type docOperation struct {
	Method, Path, Summary, Description, Auth string
	Params                                   []docParam
	Body                                     []docContent
	Responses                                []docResponse
}

type docParam struct{ Name, In, Type, Description string }
type docContent struct{ Type, Schema string }
type docResponse struct {
	Status, Description string
	Schema              string
}
type docTag struct {
	Name, Description string
	Ops               []docOperation
}
type docSchema struct{ Name, JSON string }

const docsCSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 1.5rem;color:#1b1f24;background:#fff}
h1{margin-bottom:0}code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f4f6f8;padding:.6rem;overflow:auto;border-radius:6px}
section.op{border:1px solid #d5dbe1;border-radius:8px;margin:1rem 0;padding:.2rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700}.GET{color:#0b6e4f}.POST{color:#1f5fbf}.PATCH{color:#9a5b00}.DELETE{color:#b3261e}
table{border-collapse:collapse}td,th{border-bottom:1px solid #e3e7eb;padding:.25rem .6rem;text-align:left;vertical-align:top}
@media (prefers-color-scheme:dark){body{background:#111418;color:#e4e7eb}pre{background:#1c2127}section.op{border-color:#2d343c}td,th{border-color:#2d343c}}`

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title><style>{{.CSS}}</style></head><body>
<h1>{{.Title}}</h1><p>{{.Description}}</p><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
{{range .Tags}}<h2 id="{{.Name}}">{{.Name}}</h2><p>{{.Description}}</p>{{range .Ops}}
<section class="op"><h3><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code></h3><p><strong>{{.Summary}}</strong> — {{.Auth}}</p>{{with .Description}}<p>{{.}}</p>{{end}}
{{with .Params}}<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>{{range .}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{range .Body}}<p>Body <code>{{.Type}}</code></p><pre>{{.Schema}}</pre>{{end}}
<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{{range .Responses}}<tr><td>{{.Status}}</td><td>{{.Description}}</td><td><code>{{.Schema}}</code></td></tr>{{end}}</table></section>{{end}}{{end}}
<h2 id="schemas">Schemas</h2>{{range .Schemas}}<h3 id="schema-{{.Name}}">{{.Name}}</h3><pre>{{.JSON}}</pre>{{end}}</body></html>`))

// renderDocs builds the HTML reference from the OpenAPI document.
func renderDocs(spec []byte) ([]byte, error) {
	var doc struct {
		Info       struct{ Title, Description string }
		Tags       []struct{ Name, Description string }
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas   map[string]json.RawMessage
			Responses map[string]struct {
				Description string
				Content     map[string]struct{ Schema json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, err
	}
	type op struct {
		Summary, Description string
		Tags                 []string
		Security             []map[string]any
		Parameters           []struct {
			Name, In, Description string
			Schema                json.RawMessage
		}
		RequestBody struct {
			Content map[string]struct{ Schema json.RawMessage }
		}
		Responses map[string]struct {
			Ref         string `json:"$ref"`
			Description string
			Content     map[string]struct{ Schema json.RawMessage }
		}
	}
	byTag := map[string][]docOperation{}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths[p]
		var shared []docParam
		if raw, ok := item["parameters"]; ok {
			var ps []struct {
				Name, In, Description string
				Schema                json.RawMessage
			}
			_ = json.Unmarshal(raw, &ps)
			for _, x := range ps {
				shared = append(shared, docParam{x.Name, x.In, schemaName(x.Schema), x.Description})
			}
		}
		for _, method := range []string{"get", "post", "patch", "put", "delete"} {
			raw, ok := item[method]
			if !ok {
				continue
			}
			var o op
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, p, err)
			}
			d := docOperation{Method: strings.ToUpper(method), Path: p, Summary: o.Summary, Description: o.Description, Params: shared}
			d.Auth = "no authentication"
			if len(o.Security) > 0 {
				d.Auth = "Bearer token (or the web session)"
			}
			for _, x := range o.Parameters {
				d.Params = append(d.Params, docParam{x.Name, x.In, schemaName(x.Schema), x.Description})
			}
			for ct, c := range o.RequestBody.Content {
				d.Body = append(d.Body, docContent{ct, pretty(c.Schema)})
			}
			sort.Slice(d.Body, func(i, j int) bool { return d.Body[i].Type < d.Body[j].Type })
			codes := make([]string, 0, len(o.Responses))
			for c := range o.Responses {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			for _, c := range codes {
				r := o.Responses[c]
				if r.Ref != "" {
					shared := doc.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
					r.Description, r.Content = shared.Description, shared.Content
				}
				var schema string
				for _, ct := range r.Content {
					schema = schemaName(ct.Schema)
				}
				d.Responses = append(d.Responses, docResponse{c, r.Description, schema})
			}
			for _, t := range o.Tags {
				byTag[t] = append(byTag[t], d)
			}
		}
	}
	var tags []docTag
	for _, t := range doc.Tags {
		tags = append(tags, docTag{t.Name, t.Description, byTag[t.Name]})
	}
	var schemas []docSchema
	for name, raw := range doc.Components.Schemas {
		schemas = append(schemas, docSchema{name, pretty(raw)})
	}
	sort.Slice(schemas, func(i, j int) bool { return schemas[i].Name < schemas[j].Name })
	var b bytes.Buffer
	err := docsTemplate.Execute(&b, map[string]any{"Title": doc.Info.Title, "Description": doc.Info.Description,
		"Tags": tags, "Schemas": schemas, "CSS": template.CSS(docsCSS)})
	return b.Bytes(), err
}

// schemaName names a schema briefly: its $ref, its type, or its enum.
func schemaName(raw json.RawMessage) string {
	var s struct {
		Ref   string `json:"$ref"`
		Type  any
		Enum  []string
		OneOf []struct {
			Ref string `json:"$ref"`
		}
		Items struct {
			Ref string `json:"$ref"`
		}
	}
	_ = json.Unmarshal(raw, &s)
	switch {
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref, "#/components/schemas/")
	case len(s.Enum) > 0:
		return strings.Join(s.Enum, " | ")
	case len(s.OneOf) > 0:
		var names []string
		for _, o := range s.OneOf {
			names = append(names, strings.TrimPrefix(o.Ref, "#/components/schemas/"))
		}
		return strings.Join(names, " or ")
	case s.Items.Ref != "":
		return "array of " + strings.TrimPrefix(s.Items.Ref, "#/components/schemas/")
	case s.Type != nil:
		return fmt.Sprint(s.Type)
	}
	return ""
}

func pretty(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// handleDocs serves GET /api/docs: the reference as a plain HTML page (no
// script, no third party; its one inline style is allowed by hash).
func handleDocs() (http.Handler, error) {
	page, err := renderDocs(openAPIDocument)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(docsCSS))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(page)
	}), nil
}
