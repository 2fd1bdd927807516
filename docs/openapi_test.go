package docs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"usersapi/httpapi"
	"usersapi/users"
)

// openAPI is docs/openapi.json, decoded as plain JSON.
type openAPI map[string]any

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi.json: openapi %q, want 3.1.x", v)
	}
	return doc
}

// methods are the operation keys of an OpenAPI path item.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operation is one (method, path) of openapi.json.
type operation struct {
	method, path string
	op           map[string]any
}

func (o operation) String() string { return o.method + " " + o.path }

func (doc openAPI) operations(t *testing.T) []operation {
	t.Helper()
	paths, _ := doc["paths"].(map[string]any)
	var ops []operation
	for _, path := range sortedKeys(paths) {
		item, _ := paths[path].(map[string]any)
		for _, m := range methods {
			if op, ok := item[m].(map[string]any); ok {
				ops = append(ops, operation{strings.ToUpper(m), path, op})
			}
		}
	}
	return ops
}

// resolve follows a local $ref ("#/components/…") until it reaches a value without one.
func (doc openAPI) resolve(t *testing.T, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = map[string]any(doc)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		if cur == nil {
			t.Fatalf("openapi.json: $ref %q leads nowhere", ref)
		}
		m = cur.(map[string]any)
	}
	t.Fatalf("openapi.json: $ref loop at %v", m)
	return nil
}

// routeHandleRe finds the registrations of routes.go, with their comments.
var routeHandleRe = regexp.MustCompile(`mux\.Handle\("([A-Z]+) ([^"]+)".*?(//.*)?$`)

// served returns the (method, path) pairs the server registers, in OpenAPI's spelling:
// Go's "{$}" (end of path) is dropped, "{name...}" becomes "{name}". A GET route also
// answers HEAD (net/http does that), but openapi.json lists HEAD only where routes.go
// says so in the route's comment.
func served(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("../httpapi/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	headToo := map[string]bool{}
	for _, l := range strings.Split(string(src), "\n") {
		if m := routeHandleRe.FindStringSubmatch(l); m != nil && m[1] == "GET" && strings.Contains(m[3], "HEAD") {
			headToo[m[1]+" "+m[2]] = true
		}
	}
	out := map[string]bool{}
	for _, r := range httpapi.Routes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			t.Fatalf("route %q has no method: every route must name one", r)
		}
		p := strings.ReplaceAll(path, "{$}", "")
		p = regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
		out[method+" "+p] = true
		if headToo[r] {
			out["HEAD "+p] = true
		}
	}
	return out
}

// TestOpenAPIRoutes checks that openapi.json describes exactly the routes the server
// registers (httpapi.Routes), no more and no fewer.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	want := served(t)
	got := map[string]bool{}
	for _, o := range doc.operations(t) {
		got[o.String()] = true
	}
	for _, r := range sortedKeys(asAny(want)) {
		if !got[r] {
			t.Errorf("the server serves %s, openapi.json does not describe it", r)
		}
	}
	for _, r := range sortedKeys(asAny(got)) {
		if !want[r] {
			t.Errorf("openapi.json describes %s, the server has no such route", r)
		}
	}
}

func asAny[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// requestTypes are the Go types the server decodes each JSON request body into, by
// operationId.
var requestTypes = map[string]reflect.Type{
	"register":          reflect.TypeFor[users.RegisterRequest](),
	"login":             reflect.TypeFor[users.LoginRequest](),
	"changePassword":    reflect.TypeFor[users.ChangePasswordRequest](),
	"setAccountKey":     reflect.TypeFor[users.SetAccountKeyRequest](),
	"resetPassword":     reflect.TypeFor[users.ResetPasswordRequest](),
	"resetPasswordPost": reflect.TypeFor[users.ResetPasswordRequest](),
	"updateUser":        reflect.TypeFor[users.UpdateUserRequest](),
	"updateDevice":      reflect.TypeFor[users.UpdateDeviceRequest](),
	"addPhoto":          reflect.TypeFor[users.AddPhotoRequest](),
}

// schemaTypes are the Go types behind the schemas of openapi.json.
var schemaTypes = map[string]reflect.Type{
	"UserInfo":              reflect.TypeFor[users.UserInfo](),
	"PrivateUserInfo":       reflect.TypeFor[users.UserInfo](),
	"DeviceSession":         reflect.TypeFor[users.DeviceSession](),
	"DeviceInfo":            reflect.TypeFor[users.DeviceInfo](),
	"MediaInfo":             reflect.TypeFor[users.MediaInfo](),
	"RegisterRequest":       reflect.TypeFor[users.RegisterRequest](),
	"LoginRequest":          reflect.TypeFor[users.LoginRequest](),
	"ChangePasswordRequest": reflect.TypeFor[users.ChangePasswordRequest](),
	"SetAccountKeyRequest":  reflect.TypeFor[users.SetAccountKeyRequest](),
	"ResetPasswordRequest":  reflect.TypeFor[users.ResetPasswordRequest](),
	"UpdateUserRequest":     reflect.TypeFor[users.UpdateUserRequest](),
	"UpdateDeviceRequest":   reflect.TypeFor[users.UpdateDeviceRequest](),
	"AddPhotoRequest":       reflect.TypeFor[users.AddPhotoRequest](),
	"NewPhoto":              reflect.TypeFor[users.NewPhoto](),
	"Error":                 reflect.TypeFor[errorBody](),
	"Health": reflect.TypeFor[struct {
		Status string `json:"status"`
		Mode   string `json:"mode,omitempty"` // only in the test mode (-dev)
	}](),
}

// privateFields are the fields of a Go type that only the private answers carry, by
// schema: the public schema leaves them out (R-OBJ-2).
var privateFields = map[string][]string{
	"UserInfo": {"deviceSessions"},
}

// errorBody is the error object of R-WIRE-4, as a client reads it.
type errorBody struct {
	Error  bool   `json:"error"`
	Reason string `json:"reason"`
}

// decodeStrict decodes data into a new value of typ, refusing unknown fields. Since
// encoding/json matches names without regard to case, it also checks that every key is
// spelled exactly as the type's JSON name.
func decodeStrict(data []byte, typ reflect.Type) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return exactKeys("", v, typ)
}

// exactKeys reports the first key of v that is not spelled as a JSON name of typ.
func exactKeys(path string, v any, typ reflect.Type) error {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch val := v.(type) {
	case map[string]any:
		if typ.Kind() == reflect.Map {
			for k, e := range val {
				if err := exactKeys(path+"."+k, e, typ.Elem()); err != nil {
					return err
				}
			}
			return nil
		}
		if typ.Kind() != reflect.Struct {
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		for k, e := range val {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("%s.%s: no field of %v is spelled so", path, k, typ)
			}
			if err := exactKeys(path+"."+k, e, ft); err != nil {
				return err
			}
		}
	case []any:
		if typ.Kind() == reflect.Slice {
			for i, e := range val {
				if err := exactKeys(fmt.Sprintf("%s[%d]", path, i), e, typ.Elem()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// TestOpenAPISchemas checks that every schema names exactly the JSON fields of its Go
// type, and that its examples decode into it.
func TestOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for _, name := range sortedKeys(schemas) {
		typ, ok := schemaTypes[name]
		if !ok {
			t.Errorf("schema %s: no Go type known for it; add it to schemaTypes", name)
			continue
		}
		s := schemas[name].(map[string]any)
		props, _ := s["properties"].(map[string]any)
		fields := slices.DeleteFunc(jsonFields(typ), func(f string) bool { return slices.Contains(privateFields[name], f) })
		if got := sortedKeys(props); !slices.Equal(got, sorted(fields)) {
			t.Errorf("schema %s has the properties %v, the Go type %v", name, got, sorted(fields))
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := props[r.(string)]; !ok {
				t.Errorf("schema %s requires %v, which it does not define", name, r)
			}
		}
		examples, _ := s["examples"].([]any)
		for i, ex := range examples {
			data, _ := json.Marshal(ex)
			if err := decodeStrict(data, typ); err != nil {
				t.Errorf("schema %s: example %d does not decode into %v: %v", name, i, typ, err)
			}
			for _, f := range privateFields[name] {
				if _, ok := ex.(map[string]any)[f]; ok {
					t.Errorf("schema %s: example %d has the private field %s", name, i, f)
				}
			}
		}
	}
	for name := range schemaTypes {
		if _, ok := schemas[name]; !ok {
			t.Errorf("openapi.json has no schema %s", name)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestOpenAPIExamples decodes every example of openapi.json into the Go type the
// server reads (request bodies) or writes (answers), with unknown fields refused.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	ids := map[string]bool{}
	for _, o := range doc.operations(t) {
		id, _ := o.op["operationId"].(string)
		if id == "" || ids[id] {
			t.Errorf("%s: operationId %q missing or not unique", o, id)
		}
		ids[id] = true

		// The request body.
		if rb, ok := o.op["requestBody"]; ok {
			content, _ := doc.resolve(t, rb)["content"].(map[string]any)
			if mt, ok := content["application/json"].(map[string]any); ok {
				typ, ok := requestTypes[id]
				if !ok {
					t.Errorf("%s (%s): a JSON body, but no Go type for it in requestTypes", o, id)
					continue
				}
				examples, _ := mt["examples"].(map[string]any)
				if len(examples) == 0 {
					t.Errorf("%s: the JSON request body has no examples", o)
				}
				for _, name := range sortedKeys(examples) {
					data, _ := json.Marshal(doc.resolve(t, examples[name])["value"])
					if err := decodeStrict(data, typ); err != nil {
						t.Errorf("%s: request example %q does not decode into %v: %v", o, name, typ, err)
					}
				}
				schema := doc.resolve(t, mt["schema"])
				if props, _ := schema["properties"].(map[string]any); !slices.Equal(sortedKeys(props), sorted(jsonFields(typ))) {
					t.Errorf("%s: the body's schema has the properties %v, %v has %v", o, sortedKeys(props), typ, sorted(jsonFields(typ)))
				}
			}
		} else if _, ok := requestTypes[id]; ok {
			t.Errorf("%s (%s): the server decodes a JSON body, openapi.json describes none", o, id)
		}

		// The answers.
		resps, _ := o.op["responses"].(map[string]any)
		if _, ok := resps["500"]; !ok {
			t.Errorf("%s: no 500 answer (R-WIRE-5: anything unexpected)", o)
		}
		for _, code := range sortedKeys(resps) {
			r := doc.resolve(t, resps[code])
			if _, ok := r["description"].(string); !ok {
				t.Errorf("%s %s: no description", o, code)
			}
			content, _ := r["content"].(map[string]any)
			mt, ok := content["application/json"].(map[string]any)
			if !ok {
				continue
			}
			ex, ok := mt["example"]
			if !ok {
				t.Errorf("%s %s: a JSON answer without an example", o, code)
				continue
			}
			data, _ := json.Marshal(ex)
			var typ reflect.Type
			switch schema := doc.resolve(t, mt["schema"]); {
			case schema["type"] == "array":
				typ = reflect.TypeFor[[]users.UserInfo]()
				for _, u := range ex.([]any) {
					if _, ok := u.(map[string]any)["deviceSessions"]; ok {
						t.Errorf("%s %s: a public answer's example with deviceSessions (R-OBJ-2)", o, code)
					}
				}
			case code[0] != '2':
				typ = reflect.TypeFor[errorBody]()
				if e := ex.(map[string]any); e["error"] != true || e["reason"] == "" {
					t.Errorf("%s %s: the example %s is not an error body", o, code, data)
				}
			case strings.HasSuffix(refOf(mt["schema"]), "/PrivateUserInfo"):
				typ = reflect.TypeFor[users.UserInfo]()
				if _, ok := ex.(map[string]any)["deviceSessions"]; !ok {
					t.Errorf("%s %s: a private answer's example without deviceSessions", o, code)
				}
			case strings.HasSuffix(refOf(mt["schema"]), "/UserInfo"):
				typ = reflect.TypeFor[users.UserInfo]()
				if _, ok := ex.(map[string]any)["deviceSessions"]; ok {
					t.Errorf("%s %s: a public answer's example with deviceSessions (R-OBJ-2)", o, code)
				}
			default:
				typ = reflect.TypeFor[map[string]string]()
			}
			if err := decodeStrict(data, typ); err != nil {
				t.Errorf("%s %s: example does not decode into %v: %v", o, code, typ, err)
			}
		}
	}
}

// TestOpenAPITypes checks what code generators need to give a value a type: every
// schema with a const or an enum says its type, and so does every header's schema
// (without one, oapi-codegen binds a header to interface{} and fails on every answer
// that carries it).
func TestOpenAPITypes(t *testing.T) {
	doc := loadOpenAPI(t)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			_, isConst := v["const"]
			_, isEnum := v["enum"]
			if _, typed := v["type"]; (isConst || isEnum) && !typed {
				t.Errorf("%s: a const or enum without a type", path)
			}
			for _, k := range sortedKeys(v) {
				walk(path+"/"+k, v[k])
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s/%d", path, i), e)
			}
		}
	}
	walk("#", map[string]any(doc))

	checkHeaders := func(where string, headers map[string]any) {
		for _, name := range sortedKeys(headers) {
			h := doc.resolve(t, headers[name])
			if schema := doc.resolve(t, h["schema"]); schema["type"] == nil {
				t.Errorf("%s: header %s has a schema without a type", where, name)
			}
		}
	}
	comps, _ := doc["components"].(map[string]any)
	headers, _ := comps["headers"].(map[string]any)
	checkHeaders("components", headers)
	for _, o := range doc.operations(t) {
		resps, _ := o.op["responses"].(map[string]any)
		for _, code := range sortedKeys(resps) {
			hs, _ := doc.resolve(t, resps[code])["headers"].(map[string]any)
			checkHeaders(o.String()+" "+code, hs)
		}
	}
}

// TestOpenAPIRequiredHeaders checks that the headers the server always sends are marked
// required where they are sent: WWW-Authenticate on every 401 (R-WIRE-6), Retry-After on
// every 429 and 503, Content-Length: 0 on every empty OK (R-WIRE-3), and that every
// error answer is the Error object (R-WIRE-4), except HEAD's, which have no body.
func TestOpenAPIRequiredHeaders(t *testing.T) {
	doc := loadOpenAPI(t)
	want := map[string]string{"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After"}
	for _, o := range doc.operations(t) {
		resps, _ := o.op["responses"].(map[string]any)
		for _, code := range sortedKeys(resps) {
			r := doc.resolve(t, resps[code])
			hs, _ := r["headers"].(map[string]any)
			required := func(name string) {
				if h := doc.resolve(t, hs[name]); h["required"] != true {
					t.Errorf("%s %s: header %s is not marked required", o, code, name)
				}
			}
			if name, ok := want[code]; ok {
				required(name)
			}
			if strings.HasSuffix(refOf(resps[code]), "/responses/OK") {
				required("Content-Length")
			}
			if o.method == "HEAD" {
				if _, ok := r["content"]; ok {
					t.Errorf("%s %s: a HEAD answer has no body, so no content (a generated client would try to decode one)", o, code)
				}
				continue
			}
			if code[0] == '4' || code[0] == '5' {
				content, _ := r["content"].(map[string]any)
				mt, _ := content["application/json"].(map[string]any)
				if len(content) != 1 || !strings.HasSuffix(refOf(mt["schema"]), "/schemas/Error") {
					t.Errorf("%s %s: the answer is not the Error object alone", o, code)
				}
			}
		}
	}
}

func refOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["$ref"].(string)
	return s
}

// apiHeadingRe finds the endpoint headings of api.md, such as
// "### 1. Register: `POST /users`".
var apiHeadingRe = regexp.MustCompile("^### \\d+\\. .*`([A-Z]+) ([^`?]+)(\\?[^`]*)?`$")

// statusRowRe finds the rows of a status table: "| `200` | …" or "| `413`, `415` | …".
var statusRowRe = regexp.MustCompile("^\\| ((?:`\\d{3}`(?:, )?)+) \\|")

// aliases are operations that api.md documents under another one's heading.
var aliases = map[string]string{
	"POST /users/resetPassword": "PUT /users/resetPassword",
	"GET /users":                "GET /users/",
	"HEAD /uploads/{file}":      "GET /uploads/{file}",
}

// TestOpenAPIAgreesWithAPIPage checks that api.md has a section for every operation of
// openapi.json, and that both list the same statuses for it (api.md leaves the 500 of
// every route to its conventions).
func TestOpenAPIAgreesWithAPIPage(t *testing.T) {
	doc := loadOpenAPI(t)
	pageStatuses := map[string][]string{}
	var cur string
	for _, l := range readLines(t, "api.md") {
		if m := apiHeadingRe.FindStringSubmatch(l); m != nil {
			cur = m[1] + " " + m[2]
			pageStatuses[cur] = []string{}
			continue
		}
		if strings.HasPrefix(l, "## ") {
			cur = ""
		}
		if m := statusRowRe.FindStringSubmatch(l); m != nil && cur != "" {
			for _, c := range regexp.MustCompile(`\d{3}`).FindAllString(m[1], -1) {
				pageStatuses[cur] = append(pageStatuses[cur], c)
			}
		}
	}
	covered := map[string]bool{}
	for _, o := range doc.operations(t) {
		key := o.String()
		if a, ok := aliases[key]; ok {
			key = a
		}
		page, ok := pageStatuses[key]
		if !ok {
			t.Errorf("%s: api.md has no section \"### N. …: `%s`\"", o, key)
			continue
		}
		covered[key] = true
		var spec []string
		for code := range o.op["responses"].(map[string]any) {
			if code != "500" {
				spec = append(spec, code)
			}
		}
		if !slices.Equal(sorted(page), sorted(spec)) {
			t.Errorf("%s: api.md lists the statuses %v, openapi.json %v", o, sorted(page), sorted(spec))
		}
	}
	for key := range pageStatuses {
		if !covered[key] {
			t.Errorf("api.md documents %s, which openapi.json does not", key)
		}
	}
	if len(covered) == 0 {
		t.Fatal("no endpoint sections found in api.md")
	}
}
