package httpapi_test

import (
	"testing"
)

// TestDuplicateKeysInAnyCase covers R-WIRE-7: encoding/json matches keys to fields
// ignoring case (the Kelvin sign and the long s included), so two spellings of one
// field are the same key twice, and refused like any duplicate; nothing changes.
func TestDuplicateKeysInAnyCase(t *testing.T) {
	e := newEnv(t)
	u := e.register()
	for _, body := range []string{
		`{"oldPassword":"correct horse","newPassword":"first new password","NEWPASSWORD":"second new password"}`,
		`{"oldPassword":"correct horse","newPassword":"first new password","newpassword":"second new password"}`,
		`{"oldPassword":"correct horse","newPassword":"first new password","new\u0050assword":"second new password"}`,
		`{"oldPassword":"correct horse","newPassword":"first new password","newPa\u017F\u017Fword":"second new password"}`,
		`{"oldPassword":"correct horse","newPassword":"first new password","extra":{"a":1,"A":2}}`,
	} {
		res := e.do("PUT", "/users/me/changePassword", body, bearerH(u.token)...)
		wantStatus(t, body, res, 400)
	}
	e.login(u, newDevice()) // the password is unchanged

	res := e.do("PUT", "/users/me/setAccountKey", "{\"password\":\"correct horse\",\"accountKey\":\"an account key of at least 25 characters\",\"\u212Aey\":1,\"key\":2}", bearerH(u.token)...)
	wantStatus(t, "Kelvin-sign duplicates of an unknown key", res, 400)
	res = e.do("PUT", "/users/me/setAccountKey", "{\"password\":\"correct horse\",\"accountKey\":\"an account key of at least 25 characters\",\"\u212Aey\":1,\"other\":2}", bearerH(u.token)...)
	wantStatus(t, "distinct keys", res, 200)
}
