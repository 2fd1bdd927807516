package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"usersapi/users"
)

// requestTypes makes a fresh value of each request body type the API decodes.
var requestTypes = []func() any{
	func() any { return new(users.RegisterRequest) },
	func() any { return new(users.LoginRequest) },
	func() any { return new(users.ChangePasswordRequest) },
	func() any { return new(users.SetAccountKeyRequest) },
	func() any { return new(users.ResetPasswordRequest) },
	func() any { return new(users.UpdateUserRequest) },
	func() any { return new(users.UpdateDeviceRequest) },
	func() any { return new(users.AddPhotoRequest) },
}

// decodeBody runs decode on body as a request's JSON body.
func decodeBody(body []byte, v any) error {
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return decode(r, v)
}

// FuzzDecode checks R-WIRE-7 on any body, for every request type: decode never
// panics; it fails only with ErrInvalid (400) or, past 64 KiB, ErrTooLarge (413); and
// what it accepts is one JSON object in valid UTF-8 that encoding/json reads the same
// way (unless a key is a case variant of a field name, which decode ignores and
// encoding/json does not), and that re-encodes to a body decoding to the same value.
func FuzzDecode(f *testing.F) {
	dev := `{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10","name":"laptop","model":"x1","token":"t","transport":"apns"}`
	for _, s := range []string{
		`{"name":"Alice","username":"alice","password":"correct horse","deviceInfo":` + dev + `}`,
		`{"deviceInfo":` + dev + `}`,
		`{"oldPassword":"correct horse","newPassword":"battery staple"}`,
		`{"password":"correct horse","accountKey":"an account key of at least 25 characters"}`,
		`{"userId":1,"accountKey":"an account key of at least 25 characters","newPassword":"battery staple"}`,
		`{"userId":1e400}`, `{"userId":-9223372036854775809}`, `{"userId":1.5}`, `{"userId":"1"}`,
		`{"name":null,"about":"hi"}`,
		`{"deviceName":"phone","deviceToken":null}`,
		`{"photo":{"id":"6c1b7c52-3f5e-4a43-9d1d-6b8f0a5b2f10","fileType":"png","fileSize":12}}`,
		`{"name":"a","name":"b"}`, `{"name":"a","NAME":"b"}`, "{\"\u212Aey\":1,\"key\":2}",
		`{"x":[[[[{"a":{"b":[]}}]]]]}`, `{} {}`, `{}x`, `[]`, `null`, ``, " \t\r\n{}\n ",
		"{\"name\":\"\xff\"}", `{"name":"\ud800"}`, `{"name":"\u0000"}`, "\ufeff{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newReq := range requestTypes {
			v := newReq()
			err := decodeBody(body, v)
			if err != nil {
				switch {
				case errors.Is(err, users.ErrTooLarge):
					if len(body) <= maxBody {
						t.Fatalf("%T: a body of %d bytes is too large: %v", v, len(body), err)
					}
				case errors.Is(err, users.ErrInvalid):
					if len(body) > maxBody {
						t.Fatalf("%T: a body of %d bytes: %v; want ErrTooLarge", v, len(body), err)
					}
				default:
					t.Fatalf("%T: decode(%q): %v; want ErrInvalid or ErrTooLarge", v, body, err)
				}
				if users.Reason(err) == "" {
					t.Fatalf("%T: decode(%q): an error without a reason", v, body)
				}
				continue
			}
			if len(body) > maxBody || !utf8.Valid(body) || !json.Valid(body) {
				t.Fatalf("%T: decode accepted %q", v, body)
			}
			if rest := bytes.TrimLeft(body, " \t\r\n"); len(rest) == 0 || rest[0] != '{' {
				t.Fatalf("%T: decode accepted %q, which is not an object", v, body)
			}
			plain := newReq()
			if err := json.Unmarshal(body, plain); !caseVariant(body) && (err != nil || !reflect.DeepEqual(plain, v)) {
				t.Fatalf("%T: decode(%q) = %+v, but encoding/json reads %+v, %v", v, body, v, plain, err)
			}
			enc, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%T: %+v does not encode: %v", v, v, err)
			}
			again := newReq()
			if err := decodeBody(enc, again); err != nil || !reflect.DeepEqual(again, v) {
				t.Fatalf("%T: decode(%q) = %+v, re-encoded as %s decodes to %+v, %v", v, body, v, enc, again, err)
			}
		}
	})
}

// caseVariant reports whether a key anywhere in body differs from a field name of a
// request type in case only, such as "Name" or "NAME" for "name".
func caseVariant(body []byte) bool {
	names := map[string]bool{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for name, ft := range jsonFields(t) {
			names[name] = true
			collect(ft)
		}
	}
	for _, newReq := range requestTypes {
		collect(reflect.TypeOf(newReq()))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if k, ok := tok.(string); ok {
			for name := range names {
				if k != name && strings.EqualFold(k, name) {
					return true
				}
			}
		}
	}
}

// TestDecodeExactKeys covers R-WIRE-7 as this server reads it: a key is matched to a
// field exactly, so a case variant of a field name is an unknown field, ignored at
// any depth, and not the same key as the field's own name.
func TestDecodeExactKeys(t *testing.T) {
	for _, c := range []struct {
		body string
		want users.RegisterRequest
	}{
		{`{"Name":"x"}`, users.RegisterRequest{}},
		{`{"NAME":"x","name":"y"}`, users.RegisterRequest{Name: ptr("y")}},
		{`{"name":"y","NAME":"x"}`, users.RegisterRequest{Name: ptr("y")}},
		{`{"us\u0065rname":"alice"}`, users.RegisterRequest{Username: ptr("alice")}}, // an escape spells the same key
		{`{"deviceInfo":{"ID":"a","id":"b","Name":"n"}}`, users.RegisterRequest{DeviceInfo: &users.DeviceInfo{ID: "b"}}},
	} {
		var got users.RegisterRequest
		if err := decodeBody([]byte(c.body), &got); err != nil {
			t.Errorf("decode(%s): %v", c.body, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("decode(%s) = %+v, want %+v", c.body, got, c.want)
		}
	}
	var got users.UpdateUserRequest
	if err := decodeBody([]byte(`{"about":"a","ABOUT":"b"}`), &got); err != nil || got.About == nil || *got.About != "a" {
		t.Errorf(`decode({"about":"a","ABOUT":"b"}) = %+v, %v; want about "a" and no duplicate`, got, err)
	}
	if err := decodeBody([]byte(`{"about":"a","about":"b"}`), &got); !errors.Is(err, users.ErrInvalid) {
		t.Errorf("the same key twice: %v, want ErrInvalid", err)
	}
}

func ptr(s string) *string { return &s }
