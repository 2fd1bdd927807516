package conformance_test

import (
	"strings"
	"testing"
)

// TestPhotos covers api.md §12 and §13, R-PHO-1 and R-PHO-2, with the MediaInfo of
// R-OBJ-6 and the preview size of R-UPL-3.
func TestPhotos(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §12", "api.md §13", "R-PHO-1", "R-PHO-2", "R-OBJ-6", "R-UPL-3", "R-WIRE-3")
	alice, bob := register(t), register(t)
	big := pngOf(t, 1200, 800)
	small := pngOf(t, 100, 50)
	first := uploadOK(t, alice.token, "", "image/png", big)
	second := uploadOK(t, alice.token, "", "png", small)

	run(t, "Adding an uploaded file as a photo answers OK", func(t *testing.T) {
		addPhoto(t, alice.token, first, "png", int64(len(big))).wantOK(t)
	})
	run(t, "The photo shows in the UserInfo with its preview size", func(t *testing.T) {
		for _, u := range []map[string]any{me(t, alice.token), public(t, alice.id)} {
			photos := objects(t, "photos", array(t, u, "photos"))
			if len(photos) != 1 {
				t.Fatalf("got %d photos, want 1", len(photos))
			}
			p := photos[0]
			wantKeys(t, "MediaInfo", p, []string{"id", "fileType", "fileSize", "previewWidth", "previewHeight", "createdAt"}, nil)
			if p["id"] != first || p["fileType"] != "png" || integer(t, p, "fileSize") != int64(len(big)) {
				t.Errorf("got %s, want id %s, fileType png, fileSize %d", compact(p), first, len(big))
			}
			if w, h := integer(t, p, "previewWidth"), integer(t, p, "previewHeight"); w != 350 || h != 233 {
				t.Errorf("got preview %dx%d, want 350x233 for a 1200x800 image", w, h)
			}
			recent(t, "photo createdAt", date(t, p, "createdAt"))
		}
	})
	run(t, "The newest photo comes first", func(t *testing.T) {
		addPhoto(t, alice.token, second, "png", int64(len(small))).wantOK(t)
		photos := objects(t, "photos", array(t, me(t, alice.token), "photos"))
		if len(photos) != 2 || photos[0]["id"] != second || photos[1]["id"] != first {
			t.Fatalf("got photos %s, want %s then %s", compact(photos), second, first)
		}
		if w, h := integer(t, photos[0], "previewWidth"), integer(t, photos[0], "previewHeight"); w != 100 || h != 50 {
			t.Errorf("got preview %dx%d, want 100x50: small images are not enlarged", w, h)
		}
	})
	run(t, "The photo heads every UserInfo of the user, search results too", func(t *testing.T) {
		for _, u := range objects(t, "search", do(t, "GET", "/users/?s="+alice.username).wantArray(t)) {
			if integer(t, u, "id") != alice.id {
				continue
			}
			if photos := objects(t, "photos", array(t, u, "photos")); len(photos) == 0 || photos[0]["id"] != second {
				t.Errorf("got photos %s in the search result, want %s first", compact(photos), second)
			}
			return
		}
		t.Errorf("search for %q does not find the user", alice.username)
	})
	run(t, "A photo without a preview has no preview size", func(t *testing.T) {
		cites(t, "R-OBJ-6")
		data := []byte("a png that does not decode")
		name := uploadOK(t, bob.token, "", "png", data)
		addPhoto(t, bob.token, name, "png", int64(len(data))).wantOK(t)
		p := objects(t, "photos", array(t, public(t, bob.id), "photos"))[0]
		wantKeys(t, "MediaInfo without preview", p, []string{"id", "fileType", "fileSize", "createdAt"}, nil)
		do(t, "DELETE", "/users/me/photos/"+name, bearer(bob.token)).wantOK(t)
	})
	run(t, "A photo cannot be added twice", func(t *testing.T) {
		addPhoto(t, alice.token, first, "png", int64(len(big))).wantError(t, 409)
	})
	run(t, "A photo's file cannot be replaced", func(t *testing.T) {
		cites(t, "R-UPL-1")
		upload(t, alice.token, first, "png", small).wantError(t, 409)
		upload(t, alice.token, first, "jpg", small).wantError(t, 409)
	})
	run(t, "The size must be the file's", func(t *testing.T) {
		third := uploadOK(t, alice.token, "", "png", small)
		addPhoto(t, alice.token, third, "png", int64(len(small))+1).wantError(t, 400)
		addPhoto(t, alice.token, third, "png", 0).wantError(t, 400)
	})
	run(t, "Only the caller's own uploads can be photos", func(t *testing.T) {
		addPhoto(t, alice.token, newUUID(), "png", 100).wantError(t, 404)
		bobs := uploadOK(t, bob.token, "", "png", small)
		addPhoto(t, alice.token, bobs, "png", int64(len(small))).wantError(t, 404)
		third := uploadOK(t, alice.token, "", "png", small)
		addPhoto(t, alice.token, third, "jpg", int64(len(small))).wantError(t, 404)
	})
	run(t, "An upper-case id and fileType are accepted and listed in lower case", func(t *testing.T) {
		cites(t, "R-WIRE-9")
		third := uploadOK(t, alice.token, "", "png", small)
		addPhoto(t, alice.token, strings.ToUpper(third), "PNG", int64(len(small))).wantOK(t)
		if p := objects(t, "photos", array(t, me(t, alice.token), "photos"))[0]; p["id"] != third || p["fileType"] != "png" {
			t.Errorf("got first photo %s, want id %s and fileType png", compact(p), third)
		}
	})
	run(t, "Malformed photos are 400", func(t *testing.T) {
		cites(t, "R-WIRE-5", "R-WIRE-7")
		named := uploadOK(t, alice.token, "notauuid"+randomString(6), "png", small)
		for _, body := range []string{
			`{}`,
			`{"photo": null}`,
			`{"photo": "` + first + `"}`,
			`{"photo": {"fileType": "png", "fileSize": 10}}`,
			`{"photo": {"id": "` + named + `", "fileType": "png", "fileSize": ` + itoa(len(small)) + `}}`,
			`{"photo": {"id": "` + first + `", "fileSize": ` + itoa(len(big)) + `}}`,
			`{"photo": {"id": "` + first + `", "fileType": "png"}}`,
			`{"photo": {"id": "` + first + `", "fileType": "png", "fileSize": "` + itoa(len(big)) + `"}}`,
			`{"photo": {"id": "` + first + `", "fileType": "png", "fileSize": -1}}`,
		} {
			res := do(t, "POST", "/users/me/photos", bearer(alice.token), rawJSON(body))
			if res.status != 400 {
				t.Errorf("body %s: %s, want 400", body, res)
				continue
			}
			res.errorBody(t)
		}
	})
	run(t, "Photos need a token", func(t *testing.T) {
		cites(t, "R-WIRE-6")
		do(t, "POST", "/users/me/photos", jsonOf(map[string]any{
			"photo": map[string]any{"id": first, "fileType": "png", "fileSize": len(big)},
		})).wantChallenge(t, "Bearer")
		do(t, "DELETE", "/users/me/photos/"+first).wantChallenge(t, "Bearer")
	})
	run(t, "Deleting what is not a UUID is 400", func(t *testing.T) {
		for _, id := range []string{"not-a-uuid", "123", first + "0", first[:35]} {
			do(t, "DELETE", "/users/me/photos/"+id, bearer(alice.token)).wantError(t, 400)
		}
	})
	run(t, "Deleting what is not the caller's photo is 404", func(t *testing.T) {
		do(t, "DELETE", "/users/me/photos/"+newUUID(), bearer(alice.token)).wantError(t, 404)
		bobs := uploadOK(t, bob.token, "", "png", small)
		addPhoto(t, bob.token, bobs, "png", int64(len(small))).wantOK(t)
		do(t, "DELETE", "/users/me/photos/"+bobs, bearer(alice.token)).wantError(t, 404)
		if n := len(array(t, public(t, bob.id), "photos")); n != 1 {
			t.Errorf("bob has %d photos, want 1", n)
		}
		// An upload that is not a photo is not a photo.
		notPhoto := uploadOK(t, alice.token, "", "png", small)
		do(t, "DELETE", "/users/me/photos/"+notPhoto, bearer(alice.token)).wantError(t, 404)
	})
	run(t, "Deleting a photo removes it with its file and preview", func(t *testing.T) {
		cites(t, "R-WIRE-9")
		do(t, "DELETE", "/users/me/photos/"+strings.ToUpper(first), bearer(alice.token)).wantOK(t)
		for _, u := range []map[string]any{me(t, alice.token), public(t, alice.id)} {
			for _, p := range objects(t, "photos", array(t, u, "photos")) {
				if p["id"] == first {
					t.Errorf("the deleted photo is still listed")
				}
			}
		}
		do(t, "GET", "/uploads/"+first+".png").wantError(t, 404)
		do(t, "GET", "/uploads/"+first+"-preview.png").wantError(t, 404)
		do(t, "DELETE", "/users/me/photos/"+first, bearer(alice.token)).wantError(t, 404)
	})
}

// TestPhotoLimit covers R-PHO-1: at most 10 photos.
func TestPhotoLimit(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §12", "R-PHO-1")
	alice := register(t)
	data := pngOf(t, 20, 20)
	var ids []string
	for range 11 {
		ids = append(ids, uploadOK(t, alice.token, "", "png", data))
	}
	for _, id := range ids[:10] {
		addPhoto(t, alice.token, id, "png", int64(len(data))).wantOK(t)
	}
	addPhoto(t, alice.token, ids[10], "png", int64(len(data))).wantError(t, 400)
	if n := len(array(t, me(t, alice.token), "photos")); n != 10 {
		t.Errorf("got %d photos, want 10", n)
	}
	do(t, "DELETE", "/users/me/photos/"+ids[0], bearer(alice.token)).wantOK(t)
	addPhoto(t, alice.token, ids[10], "png", int64(len(data))).wantOK(t)
}

// addPhoto sends POST /users/me/photos.
func addPhoto(t testing.TB, token, id, fileType string, size int64) *response {
	t.Helper()
	return do(t, "POST", "/users/me/photos", bearer(token), jsonOf(map[string]any{
		"photo": map[string]any{"id": id, "fileType": fileType, "fileSize": size},
	}))
}
