package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"usersapi/internal/seed"
	"usersapi/users"
)

// maxDemo caps -demo: enough for search and profile screens, quick to make.
const maxDemo = 10_000

// demoPasswordHash hashes the demo users' password, seed.Password, once.
func demoPasswordHash(ctx context.Context, iterations int) (string, error) {
	hash, err := seed.PasswordHash(ctx, iterations)
	if err != nil {
		return "", fmt.Errorf("demo users: %w", err)
	}
	return hash, nil
}

// seedDemo gives an empty service n demo users: the users of internal/seed (realistic
// names, usernames such as "chloemartin42", the password seed.Password, IDs 1..n on an
// empty store), three in four of them with a PNG photo uploaded and made a photo through
// svc, as a client would, so that each photo has its preview. They are left with no
// session. A store that already has the first of them (a file store seeded before a
// restart) is left as it is.
func seedDemo(ctx context.Context, svc *users.Service, store users.Store, n int, hash string, now time.Time, log *slog.Logger) error {
	if _, err := store.UserByUsername(ctx, seed.Username(1)); err == nil {
		log.Info("demo users: already there", "first", seed.Username(1))
		return nil
	} else if !errors.Is(err, users.ErrNotFound) {
		return fmt.Errorf("demo users: %w", err)
	}
	start := time.Now()
	set := seed.Set{Key: rand.Text(), PasswordHash: hash, Sessions: 1, Now: now.UTC().Truncate(time.Second)}
	if _, err := seed.Fill(ctx, store, set, 1, n, nil); err != nil {
		return fmt.Errorf("demo users: %w", err)
	}
	// The photos, in parallel: their previews take most of the time, and a durable
	// store shares its syncs among concurrent writes.
	jobs := make(chan int)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for k := range jobs {
				if err := finishDemoUser(ctx, svc, set, k); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("demo user %d: %w", k, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for k := 1; k <= n; k++ {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return first
	}
	log.Info("demo users: made", "users", n, "password", seed.Password, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// finishDemoUser gives demo user k its photo, unless k is a multiple of 4, and ends
// the session seed.Fill made for it.
func finishDemoUser(ctx context.Context, svc *users.Service, set seed.Set, k int) error {
	sess, err := svc.Authenticate(ctx, set.Token(k, 0))
	if err != nil {
		return err
	}
	if k%4 != 0 {
		img := demoAvatar(k)
		name, err := svc.Upload(ctx, sess, nil, "image/png", bytes.NewReader(img))
		if err != nil {
			return err
		}
		fileType, size := "png", int64(len(img))
		if err := svc.AddPhoto(ctx, sess, users.AddPhotoRequest{Photo: &users.NewPhoto{ID: &name, FileType: &fileType, FileSize: &size}}); err != nil {
			return err
		}
	}
	return svc.Logout(ctx, sess)
}

// avatarColors are the backgrounds of the demo photos.
var avatarColors = []color.NRGBA{
	{0x3b, 0x82, 0xf6, 0xff}, {0xef, 0x44, 0x44, 0xff}, {0x10, 0xb9, 0x81, 0xff}, {0xf5, 0x9e, 0x0b, 0xff},
	{0x8b, 0x5c, 0xf6, 0xff}, {0xec, 0x48, 0x99, 0xff}, {0x14, 0xb8, 0xa6, 0xff}, {0x64, 0x74, 0x8b, 0xff},
}

var avatars struct {
	once sync.Once
	png  [][]byte
}

// demoAvatar returns the PNG photo of demo user k: a head and shoulders on a colour,
// 384 pixels square, so that its preview is scaled down (media.PreviewSize).
func demoAvatar(k int) []byte {
	avatars.once.Do(func() {
		for _, bg := range avatarColors {
			avatars.png = append(avatars.png, drawAvatar(bg))
		}
	})
	return avatars.png[k%len(avatars.png)]
}

func drawAvatar(bg color.NRGBA) []byte {
	const size = 384
	fg := color.NRGBA{bg.R/2 + 0x80, bg.G/2 + 0x80, bg.B/2 + 0x80, 0xff}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	inEllipse := func(x, y, cx, cy, rx, ry int) bool {
		dx, dy := float64(x-cx)/float64(rx), float64(y-cy)/float64(ry)
		return dx*dx+dy*dy <= 1
	}
	for y := range size {
		for x := range size {
			c := bg
			if inEllipse(x, y, size/2, 150, 72, 80) || inEllipse(x, y, size/2, size+30, 150, 150) {
				c = fg
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // an in-memory image always encodes
	}
	return b.Bytes()
}
