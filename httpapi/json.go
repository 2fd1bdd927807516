package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"usersapi/users"
)

// maxBody caps every JSON request body (R-WIRE-7).
const maxBody = 64 << 10

// decode reads the JSON object in r's body into v: the one place where requests are
// decoded. Keys are matched to fields exactly, unknown fields are ignored and null
// means "not given" (R-WIRE-7); a body
// over 64 KiB is 413, a Content-Type other than application/json is 415, and anything
// but exactly one valid JSON object in valid UTF-8 is 400.
func decode(r *http.Request, v any) error {
	ct, once := singleHeader(r.Header, "Content-Type")
	if !once {
		return users.Errorf(users.ErrInvalid, "The Content-Type header must be given at most once.")
	}
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &users.Error{Kind: errUnsupportedMediaType, Reason: "The request body must be application/json."}
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return users.Errorf(users.ErrInvalid, "The request body could not be read.")
	}
	if len(body) > maxBody {
		return users.Errorf(users.ErrTooLarge, "The request body must be at most %d bytes.", maxBody)
	}
	if !utf8.Valid(body) {
		return users.Errorf(users.ErrInvalid, "The request body must be valid UTF-8.")
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return users.Errorf(users.ErrInvalid, "The request body must be a JSON object.")
	}
	if err := checkDuplicateKeys(body); err != nil {
		return err
	}
	if body, err = exactKeys(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return users.Errorf(users.ErrInvalid, "The field %s has the wrong type.", typeErr.Field)
		}
		return users.Errorf(users.ErrInvalid, "The request body is not valid JSON.")
	}
	return nil
}

// checkDuplicateKeys refuses an object that names a key twice at any depth:
// encoding/json would silently keep the last, and two readers of one body must not
// disagree about what it says. Keys are compared exactly, as they are matched to
// fields (see exactKeys): "newPassword" and "NEWPASSWORD" are two keys, the second
// unknown.
func checkDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // the next string token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return users.Errorf(users.ErrInvalid, "The request body is not valid JSON.")
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, object: true, key: true})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			default:
				stack = stack[:top]
			}
		case string:
			if top >= 0 && stack[top].object && stack[top].key {
				if stack[top].keys[t] {
					return users.Errorf(users.ErrInvalid, "The key %q appears twice in the request body.", t)
				}
				stack[top].keys[t] = true
				stack[top].key = false
				continue
			}
		}
		// A value was completed: the next token of the enclosing object is a key.
		if top = len(stack) - 1; top >= 0 && stack[top].object {
			stack[top].key = true
		}
	}
}

// exactKeys returns body without the keys that name no field of t exactly, at any
// depth (R-WIRE-7: an unknown field is ignored). encoding/json alone would also take
// "Name" or "NAME" for the field "name"; a client that sent those would work here and
// fail against another conforming server. body has passed checkDuplicateKeys.
func exactKeys(body []byte, t reflect.Type) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers pass through as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, users.Errorf(users.ErrInvalid, "The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, users.Errorf(users.ErrInvalid, "The request body must hold one JSON object and nothing after it.")
	}
	return json.Marshal(dropInexact(v, t))
}

// dropInexact removes, in place, the object keys of v that match no JSON field name of
// the type t exactly, and returns v.
func dropInexact(v any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Struct:
			fields := jsonFields(t)
			for k, x := range v {
				ft, ok := fields[k]
				if !ok {
					delete(v, k)
					continue
				}
				v[k] = dropInexact(x, ft)
			}
		case reflect.Map:
			for k, x := range v {
				v[k] = dropInexact(x, t.Elem())
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, x := range v {
				v[i] = dropInexact(x, t.Elem())
			}
		}
	}
	return v
}

// jsonFields maps the JSON names of the exported fields of the struct type t to their
// types. The request types are flat: no embedded structs, every field tagged.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// writeJSON answers with status and v as JSON: the one place where answers are
// encoded (R-WIRE-2). The user objects, alone or in a list, are written by the
// functions of encode.go, which give the bytes of json.Marshal several times faster;
// every other value, and a user object whose times have no RFC 3339 form, goes
// through json.Marshal.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := answerBuffers.Get().(*[]byte)
	b, ok := (*buf)[:0], false
	switch v := v.(type) {
	case users.UserInfo:
		b, ok = appendUserInfo(b, &v)
	case *users.UserInfo:
		if v != nil {
			b, ok = appendUserInfo(b, v)
		}
	case []users.UserInfo:
		b, ok = appendUserInfos(b, v)
	}
	if !ok {
		var err error
		b, err = json.Marshal(v)
		if err != nil {
			// Only a programming error gets here: every answer type encodes.
			panic(fmt.Sprintf("httpapi: encoding %T: %v", v, err))
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
	// Write does not keep b (io.Writer's rule), so its array may serve again.
	if cap(b) <= maxPooledAnswer {
		*buf = b[:0]
		answerBuffers.Put(buf)
	}
}

// writeOK answers "OK": 200 with an empty body (R-WIRE-3).
func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
