package conformance_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
	"strings"
	"testing"
)

// TestPreviewBomb covers R-LIM-1: a jpg of a few hundred bytes whose decoding would hold
// more than a gigabyte is stored, without a preview.
func TestPreviewBomb(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-LIM-1", "R-UPL-3")
	alice := register(t)
	bomb := progressiveBomb(7071, 7071, 4)
	name := uploadOK(t, alice.token, "", "jpg", bomb)
	if get := do(t, "GET", "/uploads/"+name+".jpg"); !bytes.Equal(get.body, bomb) {
		t.Errorf("%s, want the %d bytes uploaded", get, len(bomb))
	}
	do(t, "GET", "/uploads/"+name+"-preview.jpg").wantError(t, 404)
}

// progressiveBomb returns a progressive jpg of w x h pixels and comps components (3 or
// 4) whose scans are only runs of empty blocks: about 120 bytes a component, while a
// decoder that keeps every coefficient holds 4 bytes per pixel and component.
func progressiveBomb(w, h, comps int) []byte {
	var b bytes.Buffer
	segment := func(marker byte, data []byte) {
		b.Write([]byte{0xff, marker})
		binary.Write(&b, binary.BigEndian, uint16(len(data)+2))
		b.Write(data)
	}
	b.Write([]byte{0xff, 0xd8})
	if comps == 4 {
		segment(0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")) // CMYK
	}
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	for i := range comps {
		sof = append(sof, byte(i+1), 0x11, 0)
	}
	segment(0xc2, sof)
	// An AC table of 15 codes of 4 bits: code r is a run of 2^r empty blocks plus r bits.
	dht := []byte{0x10, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for r := range 15 {
		dht = append(dht, byte(r<<4))
	}
	segment(0xc4, dht)
	segment(0xdb, make([]byte, 65))
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	for c := range comps {
		segment(0xda, []byte{1, byte(c + 1), 0, 1, 63, 0})
		var acc uint64
		var n uint
		put := func(v uint64, k uint) {
			acc, n = acc<<k|v, n+k
			for n >= 8 {
				n -= 8
				by := byte(acc >> n)
				b.WriteByte(by)
				if by == 0xff {
					b.WriteByte(0)
				}
			}
		}
		for left := blocks; left > 0; {
			run := min(left, 1<<15-1)
			r := bits.Len(uint(run)) - 1
			put(uint64(r), 4)
			put(uint64(run-1<<r), uint(r))
			left -= run
		}
		if n > 0 {
			put(1<<(8-n)-1, 8-n)
		}
	}
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}

// TestDeleteUpload covers R-LIM-3: DELETE /uploads/<name>.<type> removes the caller's
// file and its preview; anyone else's, or an unknown file, is 404; a photo's file 409.
func TestDeleteUpload(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "R-LIM-3", "R-UPL-2")
	alice, bob := register(t), register(t)

	run(t, "The owner deletes a file and its preview", func(t *testing.T) {
		name := uploadOK(t, alice.token, "", "png", pngOf(t, 1200, 800))
		do(t, "GET", "/uploads/"+name+"-preview.png").wantStatus(t, 200)
		do(t, "DELETE", "/uploads/"+name+".png", bearer(alice.token)).wantOK(t)
		do(t, "GET", "/uploads/"+name+".png").wantError(t, 404)
		do(t, "GET", "/uploads/"+name+"-preview.png").wantError(t, 404)
		do(t, "DELETE", "/uploads/"+name+".png", bearer(alice.token)).wantError(t, 404)
	})
	run(t, "Another user's file is 404 and stays", func(t *testing.T) {
		name := "keep" + randomString(8)
		uploadOK(t, alice.token, name, "txt", []byte("alice's"))
		do(t, "DELETE", "/uploads/"+name+".txt", bearer(bob.token)).wantError(t, 404)
		if get := do(t, "GET", "/uploads/"+name+".txt"); string(get.body) != "alice's" {
			t.Errorf("%s, want alice's file", get)
		}
	})
	run(t, "An unknown file, another type or a preview's name is 404", func(t *testing.T) {
		name := uploadOK(t, alice.token, "", "png", pngOf(t, 100, 50))
		for _, file := range []string{newUUID() + ".png", name + ".jpg", name + "-preview.png", name} {
			do(t, "DELETE", "/uploads/"+file, bearer(alice.token)).wantError(t, 404)
		}
		do(t, "GET", "/uploads/"+name+".png").wantStatus(t, 200)
	})
	run(t, "A file in use as a photo is 409 and stays", func(t *testing.T) {
		data := pngOf(t, 100, 50)
		name := uploadOK(t, alice.token, "", "png", data)
		addPhoto(t, alice.token, name, "png", int64(len(data))).wantOK(t)
		do(t, "DELETE", "/uploads/"+name+".png", bearer(alice.token)).wantError(t, 409)
		do(t, "GET", "/uploads/"+name+".png").wantStatus(t, 200)
		do(t, "GET", "/uploads/"+name+"-preview.png").wantStatus(t, 200)
	})
	run(t, "Deleting needs a token", func(t *testing.T) {
		name := uploadOK(t, alice.token, "", "txt", []byte("x"))
		do(t, "DELETE", "/uploads/"+name+".txt").wantChallenge(t, "Bearer")
		do(t, "GET", "/uploads/"+name+".txt").wantStatus(t, 200)
	})
	run(t, "A deleted file's name is free again", func(t *testing.T) {
		name := "free" + randomString(8)
		uploadOK(t, alice.token, name, "txt", []byte("alice's"))
		do(t, "DELETE", "/uploads/"+name+".txt", bearer(alice.token)).wantOK(t)
		uploadOK(t, bob.token, name, "txt", []byte("bob's"))
	})
}

// TestUploadQuota covers R-LIM-2: a user's uploads together hold at most the quota;
// past it an upload is 413 with a reason naming the quota, and leaves nothing. It
// needs USERS_UPLOAD_QUOTA, the server's quota, since filling the default 200 MiB
// would store that much.
func TestUploadQuota(t *testing.T) {
	server(t)
	if uploadQuota == 0 {
		t.Skip("set USERS_UPLOAD_QUOTA to the server's upload quota in bytes to fill it")
	}
	t.Parallel()
	cites(t, "R-LIM-2", "R-LIM-3")
	alice, bob := register(t), register(t)
	var names []string
	for left := uploadQuota; left > 0; {
		n := min(left, uploadLimit)
		name := "fill" + randomString(8)
		do(t, "POST", "/uploads", bearer(alice.token), rawBody("bin", nil), fileName(name),
			streamBody(n, func() io.Reader { return io.LimitReader(zeroReader{}, n) })).wantStatus(t, 200)
		names = append(names, name)
		left -= n
	}

	run(t, "One byte past the quota is 413, names the quota and leaves nothing", func(t *testing.T) {
		name := "over" + randomString(8)
		reason := upload(t, alice.token, name, "txt", []byte("x")).wantError(t, 413)
		if !strings.Contains(strings.ToLower(reason), "quota") {
			t.Errorf("got the reason %q, want one naming the quota", reason)
		}
		do(t, "GET", "/uploads/"+name+".txt").wantError(t, 404)
	})
	run(t, "The quota is per user", func(t *testing.T) {
		uploadOK(t, bob.token, "", "txt", []byte("x"))
	})
	run(t, "Deleting a file frees its bytes", func(t *testing.T) {
		do(t, "DELETE", "/uploads/"+names[0]+".bin", bearer(alice.token)).wantOK(t)
		uploadOK(t, alice.token, "", "txt", []byte("x"))
	})
}
