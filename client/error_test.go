package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"usersapi/client"
	"usersapi/httpapi"
	"usersapi/users"
)

// TestErrorUnwrap checks that every status of R-WIRE-5 reads back as its users error
// value, with the reason and Retry-After of the answer.
func TestErrorUnwrap(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{400, users.ErrInvalid},
		{401, users.ErrUnauthorized},
		{403, users.ErrForbidden},
		{404, users.ErrNotFound},
		{409, users.ErrConflict},
		{413, users.ErrTooLarge},
		{429, users.ErrTooManyAttempts},
		{503, users.ErrBusy},
		{405, nil},
		{500, nil},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(tt.status)
			w.Write([]byte(`{"error": true, "reason": "Because."}`))
		}))
		_, err := client.New(srv.URL, srv.Client()).Me(context.Background(), "token")
		srv.Close()
		var e *client.Error
		if !errors.As(err, &e) {
			t.Fatalf("status %d: got %T %v, want *client.Error", tt.status, err, err)
		}
		if e.Status != tt.status || e.Reason != "Because." || e.RetryAfter != 7*time.Second {
			t.Errorf("status %d: got %+v, want Status %d, Reason %q, RetryAfter 7s", tt.status, *e, tt.status, "Because.")
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("status %d: errors.Is(err, %v) = false, want true", tt.status, tt.want)
		}
		if got := e.Unwrap(); got != tt.want {
			t.Errorf("status %d: Unwrap() = %v, want %v", tt.status, got, tt.want)
		}
	}
}

// TestErrorNotJSON checks that an error answer without the API's body still gives an
// *Error with its status.
func TestErrorNotJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer srv.Close()
	err := client.New(srv.URL, srv.Client()).Logout(context.Background(), "token")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Reason != "" {
		t.Fatalf("got %v, want *client.Error with Status 502 and no reason", err)
	}
	if got, want := e.Error(), "502 Bad Gateway"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestRequests checks the method, path, credentials and body each call sends.
func TestRequests(t *testing.T) {
	type seen struct {
		method, path, query, auth, contentType, body string
		user, pass                                   string
	}
	var (
		mu  sync.Mutex
		got seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n := len(b)
		mu.Lock()
		defer mu.Unlock()
		got = seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, auth: r.Header.Get("Authorization"),
			contentType: r.Header.Get("Content-Type"), body: string(b[:n])}
		got.user, got.pass, _ = r.BasicAuth()
		switch {
		case r.URL.Path == "/users/" && r.Method == "GET":
			w.Write([]byte(`[]`))
		case r.URL.Path == "/uploads":
			w.Write([]byte("b5f0d2c8-0000-4000-8000-000000000001"))
		case r.Method == "GET" || r.URL.Path == "/users" || r.URL.Path == "/users/login":
			w.Write([]byte(`{"id": 7, "name": "Alice", "username": "alice", "about": "", "createdAt": "2026-11-25T16:11:45Z", "photos": []}`))
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL+"/", srv.Client())
	ctx := context.Background()
	dev := users.DeviceInfo{ID: "2f1c3a3e-5b7d-4c4e-9f00-3b1e6a2d9c10"}

	tests := []struct {
		name string
		call func() error
		want seen
	}{
		{"Register", func() error { _, err := c.Register(ctx, "Alice", "alice", "pw", dev); return err },
			seen{method: "POST", path: "/users", contentType: "application/json"}},
		{"Login", func() error { _, err := c.Login(ctx, "alice", "secret pw", dev); return err },
			seen{method: "POST", path: "/users/login", contentType: "application/json", user: "alice", pass: "secret pw"}},
		{"Me", func() error { _, err := c.Me(ctx, "tok"); return err },
			seen{method: "GET", path: "/users/me", auth: "Bearer tok"}},
		{"Logout", func() error { return c.Logout(ctx, "tok") },
			seen{method: "POST", path: "/users/me/logout", auth: "Bearer tok"}},
		{"ChangePassword", func() error { return c.ChangePassword(ctx, "tok", "a", "b") },
			seen{method: "PUT", path: "/users/me/changePassword", auth: "Bearer tok", contentType: "application/json",
				body: `{"newPassword":"b","oldPassword":"a"}`}},
		{"SetAccountKey", func() error { return c.SetAccountKey(ctx, "tok", "a", "k") },
			seen{method: "PUT", path: "/users/me/setAccountKey", auth: "Bearer tok", contentType: "application/json",
				body: `{"accountKey":"k","password":"a"}`}},
		{"ResetPassword", func() error { return c.ResetPassword(ctx, 7, "k", "b") },
			seen{method: "PUT", path: "/users/resetPassword", contentType: "application/json",
				body: `{"accountKey":"k","newPassword":"b","userId":7}`}},
		{"UpdateUser", func() error { return c.UpdateUser(ctx, "tok", client.UserUpdate{About: client.String("hi")}) },
			seen{method: "PUT", path: "/users/me", auth: "Bearer tok", contentType: "application/json", body: `{"about":"hi"}`}},
		{"UpdateDevice", func() error {
			return c.UpdateDevice(ctx, "tok", client.DeviceUpdate{DeviceName: client.String("Laptop")})
		}, seen{method: "PUT", path: "/users/me/device", auth: "Bearer tok", contentType: "application/json",
			body: `{"deviceName":"Laptop"}`}},
		{"User", func() error { _, err := c.User(ctx, 7); return err },
			seen{method: "GET", path: "/users/7"}},
		{"Search", func() error { _, err := c.Search(ctx, "al ice"); return err },
			seen{method: "GET", path: "/users/", query: "s=al+ice"}},
		{"AddPhoto", func() error { return c.AddPhoto(ctx, "tok", "id", "png", 12) },
			seen{method: "POST", path: "/users/me/photos", auth: "Bearer tok", contentType: "application/json",
				body: `{"photo":{"fileSize":12,"fileType":"png","id":"id"}}`}},
		{"DeletePhoto", func() error { return c.DeletePhoto(ctx, "tok", "id") },
			seen{method: "DELETE", path: "/users/me/photos/id", auth: "Bearer tok"}},
		{"Deregister", func() error { return c.Deregister(ctx, "alice", "pw") },
			seen{method: "DELETE", path: "/users/me", user: "alice", pass: "pw"}},
	}
	for _, tt := range tests {
		if err := tt.call(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		mu.Lock()
		g := got
		mu.Unlock()
		if tt.want.auth == "" {
			g.auth = "" // Basic credentials are compared decoded
		}
		if tt.want.body == "" && g.method != "PUT" {
			g.body = ""
		}
		if g != tt.want {
			t.Errorf("%s: sent %+v, want %+v", tt.name, g, tt.want)
		}
	}
}

// TestStatusesMatchTheServer ties the client's status switch to the server's one
// error→status table: for every error value of users, the status httpapi answers it
// with unwraps, in the client, to that same value.
func TestStatusesMatchTheServer(t *testing.T) {
	for _, kind := range []error{users.ErrInvalid, users.ErrUnauthorized, users.ErrForbidden, users.ErrNotFound,
		users.ErrConflict, users.ErrTooLarge, users.ErrTooManyAttempts, users.ErrBusy} {
		status := httpapi.StatusOf(kind)
		if status == http.StatusInternalServerError {
			t.Errorf("%v: the server answers it 500; is it missing from httpapi's table?", kind)
			continue
		}
		if got := (&client.Error{Status: status}).Unwrap(); got != kind {
			t.Errorf("the server answers %v with %d, which the client reads as %v", kind, status, got)
		}
	}
}
