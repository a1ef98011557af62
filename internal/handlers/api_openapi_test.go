package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"ecsdash/internal/handlers"
)

// The document loads and validates as OpenAPI 3, needs no token, names
// every /api/v1 route the server has, and real answers of the server match
// its schemas exactly (no missing field, no field it does not name).
func TestAPIOpenAPIDescribesEveryRouteAndTheRealAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	resp, err := http.Get(h.url("api/v1/openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json without a token: %d", resp.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("not a valid OpenAPI document: %v", err)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	n := 0
	for _, r := range handlers.EchoOf(h.srvr).Routes() {
		p, ok := strings.CutPrefix(r.Path, "/api/v1/")
		if !ok || p == "*" || r.Method == "echo_route_any" || strings.HasSuffix(r.Name, "NotFoundHandler") {
			continue
		}
		path := "/" + param.ReplaceAllString(p, "{$1}")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in the document", r.Method, path)
		}
		n++
	}
	if n < 6 {
		t.Fatalf("only %d API routes found", n)
	}

	// Real answers against the schemas.
	in := h.stopped(2)
	c := h.apiAs("op1")
	check := func(method, path string, r answer) {
		t.Helper()
		op := doc.Paths.Value(path).GetOperation(method)
		ref := op.Responses.Status(r.status)
		if ref == nil {
			t.Fatalf("%s %s answered %d, which the document does not list", method, path, r.status)
		}
		var v any
		if err := json.Unmarshal([]byte(r.raw), &v); err != nil {
			t.Fatal(err)
		}
		if err := ref.Value.Content.Get("application/json").Schema.Value.VisitJSON(v); err != nil {
			t.Fatalf("%s %s %d does not match its schema: %v\n%s", method, path, r.status, err, r.raw)
		}
	}
	check("GET", "/instances", c.do("GET", "instances", nil))
	check("GET", "/instances", c.do("GET", "instances?region=mars", nil))
	start := c.do("POST", "instances/"+in[0].ID+"/start", map[string]any{"region": in[0].Region})
	check("POST", "/instances/{id}/start", start)
	check("POST", "/instances/{id}/start", c.do("POST", "instances/"+in[0].ID+"/start", map[string]any{"region": in[0].Region}))
	check("POST", "/instances/{id}/check", c.do("POST", "instances/"+in[1].ID+"/check", map[string]any{"region": in[1].Region}))
	check("POST", "/instances/start", c.do("POST", "instances/start", map[string]any{"instances": []string{in[1].Region + "/" + in[1].ID}}))
	check("GET", "/operations/{id}", c.do("GET", "operations/"+strconv.FormatInt(start.num("operation_id"), 10), nil))
	check("GET", "/operations/{id}", h.api("nope").do("GET", "operations/1", nil))
}
