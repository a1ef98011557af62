package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
)

// The OpenAPI 3 document is built from apiRoutes, the same table that
// registers the endpoints, and its schemas from the Go types the handlers
// decode and encode: it cannot describe a route or a field that is not
// there.

// apiDoc is the document, built on first request.
type apiDoc struct {
	once sync.Once
	json []byte
	err  error
}

func (a *App) apiOpenAPI(c echo.Context) error {
	d := &a.apiDoc
	d.once.Do(func() {
		doc, err := a.openAPI()
		if err == nil {
			d.json, err = json.MarshalIndent(doc, "", "  ")
		}
		d.err = err
	})
	if d.err != nil {
		return apperr.Wrap(d.err, apperr.Internal, "openapi")
	}
	return c.JSONBlob(http.StatusOK, d.json)
}

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPI describes the API. The server URL is relative, so the document
// holds behind any --base-url.
func (a *App) openAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "ECS start dashboard API", Version: "1",
			Description: "Start Alibaba Cloud ECS instances with the dashboard's rules: approvals, the audit log, one open operation per instance. See docs/api.md."},
		Servers: openapi3.Servers{{URL: a.cfg.BasePath() + "api/v1"}},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{SecuritySchemes: openapi3.SecuritySchemes{
			"token": {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer",
				Description: "An API token from the Tokens page or `web token create`."}},
		}},
		Security: openapi3.SecurityRequirements{openapi3.NewSecurityRequirement().Authenticate("token")},
	}
	schema := func(v any) (*openapi3.SchemaRef, error) {
		return openapi3gen.NewSchemaRefForValue(v, nil, openapi3gen.SchemaCustomizer(exactObjects))
	}
	errSchema, err := schema(apiError{})
	if err != nil {
		return nil, err
	}
	for _, r := range a.apiRoutes() {
		op := openapi3.NewOperation()
		op.Summary, op.OperationID = r.summary, r.method+" "+r.path
		op.Responses = openapi3.NewResponses()
		op.Responses.Delete("default")
		path := echoParam.ReplaceAllString(r.path, "{$1}")
		for _, m := range echoParam.FindAllStringSubmatch(r.path, -1) {
			p := openapi3.NewPathParameter(m[1]).WithSchema(openapi3.NewStringSchema())
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: p})
		}
		for _, q := range r.query {
			p := openapi3.NewQueryParameter(q.name).WithSchema(openapi3.NewStringSchema()).WithDescription(q.about)
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: p})
		}
		for _, h := range r.headers {
			p := openapi3.NewHeaderParameter(h.name).WithSchema(openapi3.NewStringSchema()).WithDescription(h.about)
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: p})
		}
		if r.body != nil {
			s, err := schema(r.body)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
			}
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(s)}
		}
		for status, v := range r.answers {
			s, err := schema(v)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
			}
			op.AddResponse(status, openapi3.NewResponse().WithDescription(http.StatusText(status)).WithJSONSchemaRef(s))
		}
		for status, media := range r.raw {
			op.AddResponse(status, openapi3.NewResponse().WithDescription(http.StatusText(status)).
				WithContent(openapi3.NewContentWithSchema(openapi3.NewObjectSchema(), []string{media})))
		}
		kinds := slices.Clone(r.errors)
		if r.public {
			op.Security = &openapi3.SecurityRequirements{}
		} else {
			kinds = append(kinds, apperr.Unauthorized, apperr.TooMany)
		}
		for _, k := range kinds {
			status := statusOf[k]
			if op.Responses.Value(strconv.Itoa(status)) != nil {
				continue
			}
			op.AddResponse(status, openapi3.NewResponse().WithDescription(http.StatusText(status)).WithJSONSchemaRef(errSchema))
		}
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		item.SetOperation(r.method, op)
	}
	return doc, nil
}

// exactObjects makes each struct's schema name every field the handlers
// write (all but omitempty ones required) and no other, so that a test
// checking real answers against the document finds any drift either way.
func exactObjects(_ string, t reflect.Type, _ reflect.StructTag, s *openapi3.Schema) error {
	if t.Kind() != reflect.Struct {
		return nil
	}
	s.Required = nil
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || strings.Contains(opts, "omitempty") {
			continue
		}
		s.Required = append(s.Required, name)
	}
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
	return nil
}
