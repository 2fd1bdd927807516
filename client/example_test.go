package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"net/http/httptest"
	"os"

	"usersapi/auth"
	"usersapi/client"
	"usersapi/httpapi"
	"usersapi/media"
	"usersapi/storage"
	"usersapi/users"
)

// newServer starts the real server in-process: memory store, a fresh uploads folder
// and the lowest PBKDF2 count, so that the examples run in milliseconds.
func newServer() (srv *httptest.Server, stop func()) {
	tmp, err := os.MkdirTemp("", "client-example-")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := media.OpenDir(tmp)
	if err != nil {
		log.Fatal(err)
	}
	svc := users.NewService(users.Config{
		Store:     storage.NewMemory(),
		Hasher:    auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens:    auth.Tokens{},
		Files:     dir,
		Previewer: media.NewPreviewer(0),
	})
	srv = httptest.NewServer(httpapi.NewServer(svc, httpapi.Options{}))
	return srv, func() {
		srv.Close()
		dir.Close()
		os.RemoveAll(tmp)
	}
}

// phone is the device the examples log in from; its ID is made by the client.
var phone = users.DeviceInfo{ID: "6f1c3a3e-5b7d-4c4e-9f00-3b1e6a2d9c10", Name: "Alice's phone", Model: "Pixel"}

func ExampleClient_Register() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())

	me, err := c.Register(ctx, "Alice", "Alice2026", "correct horse battery", phone)
	if err != nil {
		log.Fatal(err)
	}
	// The username is stored lower-cased; the new session comes first, with its token.
	fmt.Println(me.ID, me.Username, me.Name)
	fmt.Println(len(me.DeviceSessions), me.DeviceSessions[0].DeviceInfo.Name, len(me.DeviceSessions[0].AccessToken))

	_, err = c.Register(ctx, "Another Alice", "alice2026", "another password", phone)
	fmt.Println(errors.Is(err, users.ErrConflict), err)
	// Output:
	// 1 alice2026 Alice
	// 1 Alice's phone 43
	// true 409 Conflict: The username is already taken.
}

func ExampleClient_Login() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())
	if _, err := c.Register(ctx, "Alice", "alice2026", "correct horse battery", phone); err != nil {
		log.Fatal(err)
	}

	laptop := users.DeviceInfo{ID: "0b7e5c4a-3d2f-4e1a-8b9c-7d6e5f4a3b2c", Name: "Laptop", Transport: "web"}
	me, err := c.Login(ctx, "alice2026", "correct horse battery", laptop)
	if err != nil {
		log.Fatal(err)
	}
	// Two sessions now: the laptop's first, the only one with a token.
	for _, s := range me.DeviceSessions {
		fmt.Println(s.DeviceInfo.Name, s.AccessToken != "")
	}

	_, err = c.Login(ctx, "alice2026", "wrong password", laptop)
	fmt.Println(errors.Is(err, users.ErrUnauthorized))
	// Output:
	// Laptop true
	// Alice's phone false
	// true
}

func ExampleClient_Me() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())
	reg, err := c.Register(ctx, "Alice", "alice2026", "correct horse battery", phone)
	if err != nil {
		log.Fatal(err)
	}
	token := reg.DeviceSessions[0].AccessToken

	if err := c.UpdateUser(ctx, token, client.UserUpdate{About: client.String("Likes tea.")}); err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%s): %s\n", me.Name, me.Username, me.About)

	// Anyone can read the public part, without the sessions.
	pub, err := c.User(ctx, me.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pub.About, len(pub.DeviceSessions))
	// Output:
	// Alice (alice2026): Likes tea.
	// Likes tea. 0
}

func ExampleClient_ChangePassword() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())
	reg, err := c.Register(ctx, "Alice", "alice2026", "correct horse battery", phone)
	if err != nil {
		log.Fatal(err)
	}
	token := reg.DeviceSessions[0].AccessToken

	err = c.ChangePassword(ctx, token, "not my password", "a brand new password")
	fmt.Println(errors.Is(err, users.ErrForbidden))

	err = c.ChangePassword(ctx, token, "correct horse battery", "a brand new password")
	fmt.Println(err)
	_, err = c.Login(ctx, "alice2026", "correct horse battery", phone)
	fmt.Println(errors.Is(err, users.ErrUnauthorized))
	_, err = c.Login(ctx, "alice2026", "a brand new password", phone)
	fmt.Println(err)
	// Output:
	// true
	// <nil>
	// true
	// <nil>
}

func ExampleClient_Logout() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())
	reg, err := c.Register(ctx, "Alice", "alice2026", "correct horse battery", phone)
	if err != nil {
		log.Fatal(err)
	}
	token := reg.DeviceSessions[0].AccessToken

	fmt.Println(c.Logout(ctx, token))
	_, err = c.Me(ctx, token)
	fmt.Println(errors.Is(err, users.ErrUnauthorized))
	// Output:
	// <nil>
	// true
}

func ExampleClient_ResetPassword() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())
	reg, err := c.Register(ctx, "Alice", "alice2026", "correct horse battery", phone)
	if err != nil {
		log.Fatal(err)
	}
	token := reg.DeviceSessions[0].AccessToken
	const key = "written on paper, kept in a drawer"
	if err := c.SetAccountKey(ctx, token, "correct horse battery", key); err != nil {
		log.Fatal(err)
	}

	// Later, the password forgotten: the key and the public user ID are enough.
	fmt.Println(c.ResetPassword(ctx, reg.ID, key, "a remembered password"))
	_, err = c.Me(ctx, token) // every session has ended
	fmt.Println(errors.Is(err, users.ErrUnauthorized))
	fmt.Println(errors.Is(c.ResetPassword(ctx, reg.ID, "a guess, twenty-five chars", "another password"), users.ErrForbidden))
	// Output:
	// <nil>
	// true
	// true
}

func ExampleClient_Search() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())
	for _, u := range []struct{ name, username string }{
		{"Alice Liddell", "wonderland"}, {"Bob", "alice2026"}, {"Carol", "malice99"}, {"Dave", "alice"},
	} {
		if _, err := c.Register(ctx, u.name, u.username, "a long password", phone); err != nil {
			log.Fatal(err)
		}
	}

	found, err := c.Search(ctx, "ALICE")
	if err != nil {
		log.Fatal(err)
	}
	// The exact username first, then usernames starting with it, then the rest.
	for _, u := range found {
		fmt.Println(u.Username, u.Name)
	}
	_, err = c.Search(ctx, "a")
	fmt.Println(errors.Is(err, users.ErrInvalid))
	// Output:
	// alice Dave
	// alice2026 Bob
	// wonderland Alice Liddell
	// malice99 Carol
	// true
}

func ExampleClient_Upload() {
	srv, stop := newServer()
	defer stop()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client())
	reg, err := c.Register(ctx, "Alice", "alice2026", "correct horse battery", phone)
	if err != nil {
		log.Fatal(err)
	}
	token := reg.DeviceSessions[0].AccessToken

	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 1200, 800)))
	name, err := c.Upload(ctx, token, "", "image/png", bytes.NewReader(img.Bytes()))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.AddPhoto(ctx, token, name, "png", int64(img.Len())); err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	p := me.Photos[0]
	fmt.Println(p.ID == name, p.FileType, p.PreviewWidth, p.PreviewHeight)

	f, err := c.GetUpload(ctx, name+"-preview.png")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Body.Close()
	cfg, _ := png.DecodeConfig(f.Body)
	io.Copy(io.Discard, f.Body)
	fmt.Println(f.ContentType, cfg.Width, cfg.Height, f.Attachment)
	// Output:
	// true png 350 233
	// image/png 350 233 false
}
