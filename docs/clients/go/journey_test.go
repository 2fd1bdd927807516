package journey_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"usersapi/docs/clients/go/gen/usersapi"
)

// TestJourney walks a client's day with the client oapi-codegen generates from
// docs/openapi.json, unedited, against the server at USERS_BASE_URL: every answer must
// decode into the generated types, headers included.
func TestJourney(t *testing.T) {
	base := os.Getenv("USERS_BASE_URL")
	if base == "" {
		t.Fatal("USERS_BASE_URL is not set: run docs/clients/run.sh, which starts a server")
	}
	c, err := usersapi.NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	username := fmt.Sprintf("go%08d", rand.IntN(1e8))
	password := "correct horse battery"

	// Register.
	reg, err := c.RegisterWithResponse(ctx, usersapi.RegisterRequest{
		Name: "Gopher", Username: username, Password: password,
		DeviceInfo: usersapi.DeviceInfo{Id: uuid.New(), Name: ptr("phone")},
	})
	must(t, "register", reg, err, 200)
	if reg.JSON200 == nil || reg.JSON200.Username != username || len(reg.JSON200.DeviceSessions) != 1 || reg.JSON200.DeviceSessions[0].AccessToken == nil {
		t.Fatalf("register: got %s, want the private UserInfo with one session and its token", reg.Body)
	}
	id := reg.JSON200.Id

	// Log in with Basic on a second device.
	login, err := c.LoginWithResponse(ctx, usersapi.LoginRequest{DeviceInfo: usersapi.DeviceInfo{Id: uuid.New(), Name: ptr("laptop")}}, basic(username, password))
	must(t, "login", login, err, 200)
	if login.JSON200 == nil || len(login.JSON200.DeviceSessions) != 2 || login.JSON200.DeviceSessions[0].AccessToken == nil {
		t.Fatalf("login: got %s, want the private UserInfo with two sessions, the first with its token", login.Body)
	}
	token := *login.JSON200.DeviceSessions[0].AccessToken
	auth := bearer(token)

	// Me.
	me, err := c.GetMeWithResponse(ctx, auth)
	must(t, "me", me, err, 200)
	if me.JSON200 == nil || me.JSON200.Id != id {
		t.Fatalf("me: got %s, want user %d", me.Body, id)
	}

	// Update the user, then the device: empty OKs with Content-Length 0.
	upd, err := c.UpdateUserWithResponse(ctx, usersapi.UpdateUserRequest{Name: ptr("Gopher Two"), About: ptr("Digs.")}, auth)
	must(t, "update", upd, err, 200)
	if upd.Headers200 == nil || upd.Headers200.ContentLength != 0 {
		t.Errorf("update: Headers200 %+v, want Content-Length 0", upd.Headers200)
	}
	dev, err := c.UpdateDeviceWithResponse(ctx, usersapi.UpdateDeviceRequest{DeviceName: ptr("work laptop")}, auth)
	must(t, "update device", dev, err, 200)

	// Upload a PNG and add it as a photo.
	pic := pngBytes(t)
	up, err := c.UploadWithBodyWithResponse(ctx, &usersapi.UploadParams{}, "image/png", bytes.NewReader(pic), auth)
	must(t, "upload", up, err, 200)
	name := string(up.Body)
	photoID, err := uuid.Parse(name)
	if err != nil {
		t.Fatalf("upload: answer %q is not a UUID: %v", name, err)
	}
	add, err := c.AddPhotoWithResponse(ctx, usersapi.AddPhotoRequest{Photo: usersapi.NewPhoto{Id: photoID, FileType: "png", FileSize: int64(len(pic))}}, auth)
	must(t, "add photo", add, err, 200)

	// Download it, ask for its headers, then for a range it does not have.
	file, err := c.GetFileWithResponse(ctx, name+".png")
	must(t, "get file", file, err, 200)
	if !bytes.Equal(file.Body, pic) || file.Headers200 == nil || file.Headers200.XContentTypeOptions != "nosniff" {
		t.Errorf("get file: %d bytes, headers %+v; want the upload's %d bytes and nosniff", len(file.Body), file.Headers200, len(pic))
	}
	head, err := c.HeadFileWithResponse(ctx, name+".png")
	must(t, "head file", head, err, 200)
	if head.Headers200 == nil || head.HTTPResponse.ContentLength != int64(len(pic)) {
		t.Errorf("head file: Content-Length %d, headers %+v; want %d", head.HTTPResponse.ContentLength, head.Headers200, len(pic))
	}
	noFile, err := c.HeadFileWithResponse(ctx, uuid.NewString()+".png")
	must(t, "head of a missing file", noFile, err, 404)
	far, err := c.GetFileWithResponse(ctx, name+".png", header("Range", "bytes=100000-"))
	must(t, "get file out of range", far, err, 416)
	if far.JSON416 == nil || far.JSON416.Error != usersapi.True {
		t.Errorf("get file out of range: got %s, want the error object", far.Body)
	}

	// Search, and get the user: public answers, with the photo.
	found, err := c.SearchUsersWithResponse(ctx, &usersapi.SearchUsersParams{S: username[:6]})
	must(t, "search", found, err, 200)
	var hit *usersapi.UserInfo
	for i, u := range *found.JSON200 {
		if u.Id == id {
			hit = &(*found.JSON200)[i]
		}
	}
	if hit == nil || hit.Name != "Gopher Two" || len(hit.Photos) != 1 {
		t.Errorf("search %q: got %s, want user %d named Gopher Two with one photo", username[:6], found.Body, id)
	}
	user, err := c.GetUserWithResponse(ctx, fmt.Sprint(id))
	must(t, "get user", user, err, 200)
	if user.JSON200 == nil || user.JSON200.About != "Digs." || len(user.JSON200.Photos) != 1 || user.JSON200.Photos[0].Id != photoID {
		t.Errorf("get user: got %s, want the photo %s", user.Body, photoID)
	}
	if bytes.Contains(user.Body, []byte("deviceSessions")) {
		t.Errorf("get user: a public answer with deviceSessions: %s", user.Body)
	}

	// A 401 and a 409, with their error objects.
	bad, err := c.GetMeWithResponse(ctx, bearer(strings.Repeat("A", 43)))
	must(t, "me with an unknown token", bad, err, 401)
	if bad.JSON401 == nil || bad.JSON401.Reason == "" || bad.Headers401 == nil || bad.Headers401.WWWAuthenticate != `Bearer realm="users"` {
		t.Errorf("me with an unknown token: got %s, headers %+v", bad.Body, bad.Headers401)
	}
	taken, err := c.RegisterWithResponse(ctx, usersapi.RegisterRequest{
		Name: "Other", Username: username, Password: password,
		DeviceInfo: usersapi.DeviceInfo{Id: uuid.New()},
	})
	must(t, "register a taken username", taken, err, 409)
	if taken.JSON409 == nil || taken.JSON409.Error != usersapi.True {
		t.Errorf("register a taken username: got %s, want the error object", taken.Body)
	}

	// Log out; the token is gone.
	out, err := c.LogoutWithResponse(ctx, auth)
	must(t, "logout", out, err, 200)
	after, err := c.GetMeWithResponse(ctx, auth)
	must(t, "me after logout", after, err, 401)

	// Deregister with Basic; the user is gone.
	del, err := c.DeregisterWithResponse(ctx, basic(username, password))
	must(t, "deregister", del, err, 200)
	gone, err := c.GetUserWithResponse(ctx, fmt.Sprint(id))
	must(t, "get user after deregister", gone, err, 404)
}

// answer is what every generated response type has.
type answer interface{ StatusCode() int }

// must stops the journey unless the call went through and answered status.
func must(t *testing.T, step string, res answer, err error, status int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if got := res.StatusCode(); got != status {
		t.Fatalf("%s: status %d, want %d", step, got, status)
	}
}

func ptr[T any](v T) *T { return &v }

func header(name, value string) usersapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set(name, value)
		return nil
	}
}

func bearer(token string) usersapi.RequestEditorFn { return header("Authorization", "Bearer "+token) }

func basic(username, password string) usersapi.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.SetBasicAuth(username, password)
		return nil
	}
}

// pngBytes is a small PNG with more than one colour.
func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := range 30 {
			img.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 8), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
