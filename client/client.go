// Package client is a typed Go client for the Users API (docs/api.md): one method per
// endpoint, the API's own wire types from package users for the answers, and errors that
// read the HTTP status back into the users error values, so that
//
//	errors.Is(err, users.ErrConflict)
//
// works across the wire exactly as it does inside the server.
//
// The package is for programs that talk to a Users API server: tools, bots, other
// services, and this project's own examples. It must only import package users from this
// module, never the server's packages (httpapi, auth, storage): it knows the server only
// through the wire.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"usersapi/users"
)

// Client talks to one Users API server. Its zero value is not usable; make one with New.
// A Client holds no session state: methods that need credentials take them as arguments,
// so one Client can serve many users at once and is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client for the server at baseURL (scheme, host and port, e.g.
// "http://127.0.0.1:8080", without the /users path). hc is the HTTP client used for
// every request; nil means http.DefaultClient.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Error is a failure answered by the server: its HTTP status, the reason sentence of its
// JSON error body, and the Retry-After delay of a 429 or 503 answer.
type Error struct {
	Status     int           // HTTP status code of the answer
	Reason     string        // the "reason" of the error body, meant for people
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
}

// Error returns the status and the reason, e.g. "409 Conflict: The username is taken.".
func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// Unwrap returns the users error value that the status stands for (R-WIRE-5), so that
// errors.Is(err, users.ErrNotFound) and friends work on answers. It returns nil for a
// status that has no such value (a 405 or a 500, for instance).
func (e *Error) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return users.ErrInvalid
	case http.StatusUnauthorized:
		return users.ErrUnauthorized
	case http.StatusForbidden:
		return users.ErrForbidden
	case http.StatusNotFound:
		return users.ErrNotFound
	case http.StatusConflict:
		return users.ErrConflict
	case http.StatusRequestEntityTooLarge:
		return users.ErrTooLarge
	case http.StatusTooManyRequests:
		return users.ErrTooManyAttempts
	case http.StatusServiceUnavailable:
		return users.ErrBusy
	}
	return nil
}

// UserUpdate is the body of UpdateUser. A nil field is left as it is on the server.
type UserUpdate struct {
	Name  *string `json:"name,omitempty"`
	About *string `json:"about,omitempty"`
}

// DeviceUpdate is the body of UpdateDevice. A nil field is left as it is on the server.
type DeviceUpdate struct {
	DeviceName  *string `json:"deviceName,omitempty"`
	DeviceToken *string `json:"deviceToken,omitempty"`
}

// String returns a pointer to s, for the optional fields of UserUpdate and DeviceUpdate.
func String(s string) *string { return &s }

// File is an uploaded file as served by GetUpload. The caller must close Body.
type File struct {
	Body        io.ReadCloser
	ContentType string // as served: the image type for inline images, else application/octet-stream
	Size        int64  // bytes, or -1 when the server did not say
	Attachment  bool   // served with Content-Disposition: attachment
}

// Register creates an account and its first session (api.md §1, R-REG-1). The answer
// is the private UserInfo whose DeviceSessions[0].AccessToken is the new session's token.
func (c *Client) Register(ctx context.Context, name, username, password string, dev users.DeviceInfo) (users.UserInfo, error) {
	body := map[string]any{"name": name, "username": username, "password": password, "deviceInfo": dev}
	var u users.UserInfo
	err := c.do(ctx, http.MethodPost, "/users", auth{}, body, &u)
	return u, err
}

// Login opens a session for the device (api.md §2, R-LOG-1, R-LOG-2); logging in again
// from the same device ID replaces that device's session. The answer is the private
// UserInfo whose DeviceSessions[0].AccessToken is the new token.
func (c *Client) Login(ctx context.Context, username, password string, dev users.DeviceInfo) (users.UserInfo, error) {
	var u users.UserInfo
	err := c.do(ctx, http.MethodPost, "/users/login", auth{user: username, pass: password, basic: true},
		map[string]any{"deviceInfo": dev}, &u)
	return u, err
}

// Me returns the private UserInfo of the token's user (api.md §3, R-ME-1).
func (c *Client) Me(ctx context.Context, token string) (users.UserInfo, error) {
	var u users.UserInfo
	err := c.do(ctx, http.MethodGet, "/users/me", auth{token: token}, nil, &u)
	return u, err
}

// Logout ends the token's session, and only that one (api.md §4, R-OUT-1).
func (c *Client) Logout(ctx context.Context, token string) error {
	return c.do(ctx, http.MethodPost, "/users/me/logout", auth{token: token}, nil, nil)
}

// ChangePassword replaces the password; every other session of the user ends
// (api.md §5, R-PW-1). A wrong oldPassword is users.ErrForbidden.
func (c *Client) ChangePassword(ctx context.Context, token, oldPassword, newPassword string) error {
	return c.do(ctx, http.MethodPut, "/users/me/changePassword", auth{token: token},
		map[string]string{"oldPassword": oldPassword, "newPassword": newPassword}, nil)
}

// SetAccountKey sets or replaces the key that ResetPassword accepts (api.md §6,
// R-KEY-1). A wrong password is users.ErrForbidden.
func (c *Client) SetAccountKey(ctx context.Context, token, password, accountKey string) error {
	return c.do(ctx, http.MethodPut, "/users/me/setAccountKey", auth{token: token},
		map[string]string{"password": password, "accountKey": accountKey}, nil)
}

// ResetPassword sets a new password with the account key, without any session
// (api.md §7, R-RST-1); every session of the user ends. An unknown user, a user
// without a key and a wrong key are all users.ErrForbidden.
func (c *Client) ResetPassword(ctx context.Context, userID int64, accountKey, newPassword string) error {
	return c.do(ctx, http.MethodPut, "/users/resetPassword", auth{},
		map[string]any{"userId": userID, "accountKey": accountKey, "newPassword": newPassword}, nil)
}

// UpdateUser changes the name and about text of the token's user (api.md §8, R-UPD-1).
func (c *Client) UpdateUser(ctx context.Context, token string, up UserUpdate) error {
	return c.do(ctx, http.MethodPut, "/users/me", auth{token: token}, up, nil)
}

// UpdateDevice changes the device name and push token of the token's session
// (api.md §9, R-DEV-1).
func (c *Client) UpdateDevice(ctx context.Context, token string, up DeviceUpdate) error {
	return c.do(ctx, http.MethodPut, "/users/me/device", auth{token: token}, up, nil)
}

// User returns the public UserInfo of the user with the ID (api.md §10, R-GET-1).
func (c *Client) User(ctx context.Context, id int64) (users.UserInfo, error) {
	var u users.UserInfo
	err := c.do(ctx, http.MethodGet, "/users/"+strconv.FormatInt(id, 10), auth{}, nil, &u)
	return u, err
}

// Search returns the public UserInfo of at most 50 users whose name or username contains
// s, best matches first (api.md §11, R-SRCH-1). No match is an empty slice.
func (c *Client) Search(ctx context.Context, s string) ([]users.UserInfo, error) {
	var us []users.UserInfo
	err := c.do(ctx, http.MethodGet, "/users/?s="+url.QueryEscape(s), auth{}, nil, &us)
	if us == nil && err == nil {
		us = []users.UserInfo{}
	}
	return us, err
}

// AddPhoto makes the caller's upload named id (with the fileType it was uploaded as and
// its exact size) a photo, the first of the user's photos (api.md §12, R-PHO-1).
func (c *Client) AddPhoto(ctx context.Context, token, id, fileType string, fileSize int64) error {
	body := map[string]any{"photo": map[string]any{"id": id, "fileType": fileType, "fileSize": fileSize}}
	return c.do(ctx, http.MethodPost, "/users/me/photos", auth{token: token}, body, nil)
}

// DeletePhoto removes the caller's photo with the ID, with its file and preview
// (api.md §13, R-PHO-2).
func (c *Client) DeletePhoto(ctx context.Context, token, id string) error {
	return c.do(ctx, http.MethodDelete, "/users/me/photos/"+url.PathEscape(id), auth{token: token}, nil, nil)
}

// Deregister deletes the account and everything it owns (api.md §14, R-DEL-1). It
// takes the username and password, not a token, as the API requires.
func (c *Client) Deregister(ctx context.Context, username, password string) error {
	return c.do(ctx, http.MethodDelete, "/users/me", auth{user: username, pass: password, basic: true}, nil, nil)
}

// Upload stores the bytes of r as a file of the token's user (R-UPL-1) and returns its
// bare name, without extension. name may be empty, in which case the server picks a
// UUID. contentType is a bare extension ("png") or a media type ("image/png"); it decides
// the extension under which GetUpload finds the file.
func (c *Client) Upload(ctx context.Context, token, name, contentType string, r io.Reader) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/uploads", r)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	if name != "" {
		req.Header.Set("File-Name", name)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", readError(resp)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// GetUpload opens the uploaded file "<name>.<ext>" (R-UPL-2), e.g. the ID of a photo
// with its fileType, or "<name>-preview.<ext>" for its preview. No credentials are needed.
func (c *Client) GetUpload(ctx context.Context, file string) (*File, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/uploads/"+url.PathEscape(file), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	disp, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	return &File{
		Body:        resp.Body,
		ContentType: resp.Header.Get("Content-Type"),
		Size:        resp.ContentLength,
		Attachment:  disp == "attachment",
	}, nil
}

// auth is the credentials of one request: a Bearer token, Basic credentials, or none.
type auth struct {
	token      string
	user, pass string
	basic      bool
}

// do sends one JSON request and decodes a JSON answer into out (nil for "OK" answers).
func (c *Client) do(ctx context.Context, method, path string, a auth, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case a.basic:
		req.SetBasicAuth(a.user, a.pass)
	case a.token != "":
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// readError turns a non-200 answer into an *Error. A body that is not the API's error
// object still gives an *Error with the status, and an empty reason.
func readError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	var body struct {
		Reason string `json:"reason"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) == nil {
		e.Reason = body.Reason
	}
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil {
		if d := time.Until(t); d > 0 {
			e.RetryAfter = d
		}
	}
	return e
}

// IsRetryable reports whether err is an answer worth retrying after its RetryAfter
// delay: the server was busy (503). A 429 is not: it answers for the account, and the
// attempt should not be repeated blindly.
func IsRetryable(err error) bool {
	return errors.Is(err, users.ErrBusy)
}
