package storagetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"usersapi/users"
)

// The field-pinning test: every field of every stored type (users.User, Session,
// DeviceInfo, Photo, Upload) is filled by reflection with a value of its own, stored
// through the Store, read back (after reopening, for a persistent store) and compared
// field by field. A field added to one of those types is filled and checked without
// editing this file, so a store that forgets to keep it fails, naming the type and the
// field.
//
// A few fields cannot take any value through the Store, and are set to the one value
// it must keep, still not zero: User.ID (given by CreateUser), User.Photos (added with
// AddPhoto), Session.UserID (set by the store), Upload.OwnerID (the user's ID) and
// Photo.ID (the name of one of the user's uploads).

func testFieldsKept(t *testing.T, s users.Store) {
	checkFieldsKept(t, s, func(s users.Store) users.Store { return s })
}

func testReopenFieldsKept(t *testing.T, open func() users.Store) {
	checkFieldsKept(t, open(), func(s users.Store) users.Store {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return open()
	})
}

func checkFieldsKept(t *testing.T, s users.Store, reopen func(users.Store) users.Store) {
	var u users.User
	fill(reflect.ValueOf(&u).Elem())
	u.ID, u.Photos = 0, nil
	u.Username = uniqueName("fields")
	var first, second users.Session
	fill(reflect.ValueOf(&first).Elem())
	fill(reflect.ValueOf(&second).Elem())
	stored, err := s.CreateUser(ctx, u, first)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	u.ID = stored.ID
	first.UserID, second.UserID = u.ID, u.ID
	if _, err := s.CreateSession(ctx, second, 50); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	var up users.Upload
	fill(reflect.ValueOf(&up).Elem())
	up.OwnerID = u.ID
	if _, err := s.PutUpload(ctx, up); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}
	var photoUpload users.Upload
	fill(reflect.ValueOf(&photoUpload).Elem())
	photoUpload.OwnerID = u.ID
	if _, err := s.PutUpload(ctx, photoUpload); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}
	var p users.Photo
	fill(reflect.ValueOf(&p).Elem())
	p.ID = photoUpload.Name
	if err := s.AddPhoto(ctx, u.ID, p, 10); err != nil {
		t.Fatalf("AddPhoto: %v", err)
	}
	u.Photos = []users.Photo{p}

	s = reopen(s)
	t.Cleanup(func() { s.Close() })
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	compareFields(t, "users.User", reflect.ValueOf(u), reflect.ValueOf(got))
	for _, want := range []users.Session{first, second} {
		got, err := s.SessionByToken(ctx, want.TokenHash)
		if err != nil {
			t.Fatalf("SessionByToken: %v", err)
		}
		compareFields(t, "users.Session", reflect.ValueOf(want), reflect.ValueOf(got))
	}
	gotUp, err := s.Upload(ctx, up.Name)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	compareFields(t, "users.Upload", reflect.ValueOf(up), reflect.ValueOf(gotUp))
}

// fill gives every field of v, at any depth, a non-zero value of its own: strings and
// numbers from a counter, times whole seconds after t0 (stores keep seconds), one
// element in each slice and map.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(t0.Add(time.Duration(next()) * time.Second)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("%s%d", "v", next()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(next() % 100)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(next() % 100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(next()%100) + 0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	default:
		panic("storagetest: fill cannot make a " + v.Type().String())
	}
}

// compareFields reports each field, at any depth, whose value read back differs from
// the value stored, as Type.Field.
func compareFields(t *testing.T, path string, want, got reflect.Value) {
	t.Helper()
	if want.Kind() == reflect.Struct && want.Type() != reflect.TypeOf(time.Time{}) {
		for i := range want.NumField() {
			f := want.Type().Field(i)
			if f.IsExported() {
				compareFields(t, path+"."+f.Name, want.Field(i), got.Field(i))
			}
		}
		return
	}
	if want.Kind() == reflect.Slice && got.Len() == want.Len() {
		for i := range want.Len() {
			compareFields(t, fmt.Sprintf("%s[%d]", path, i), want.Index(i), got.Index(i))
		}
		return
	}
	if w, ok := want.Interface().(time.Time); ok {
		if !w.Equal(got.Interface().(time.Time)) {
			t.Errorf("%s was not kept: stored %v, read back %v", path, w, got.Interface())
		}
		return
	}
	if !reflect.DeepEqual(want.Interface(), got.Interface()) {
		t.Errorf("%s was not kept: stored %#v, read back %#v", path, want.Interface(), got.Interface())
	}
}
