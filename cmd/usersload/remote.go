package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"usersapi/internal/seed"
)

// remoteDirectory returns the users to act as on a server in another process: those
// of the seeded data set if -seeded, else users registered now through the API.
func remoteDirectory(ctx context.Context, c config, base string, stderr io.Writer) (*directory, error) {
	set := seed.Set{Key: c.seedKey, Sessions: c.sessions}
	if c.seeded {
		return &directory{set: set, n: c.users, firstID: 1}, nil
	}
	fmt.Fprintf(stderr, "registering %d users on %s (each costs the server one PBKDF2 hash)\n", c.users, base)
	d := &directory{
		set:     set,
		n:       c.users,
		numbers: make([]int, c.users),
		ids:     make([]int64, c.users),
		tokens:  make([]string, c.users),
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.clients}}
	defer client.CloseIdleConnections()
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		errOnce    sync.Once
		firstErr   error
	)
	start := time.Now()
	for k := range min(c.clients, c.users) {
		rng := rand.New(rand.NewPCG(uint64(k), uint64(start.UnixNano())))
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= c.users || ctx.Err() != nil {
					return
				}
				if err := register(ctx, client, base, d, i, rng); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				if n := done.Add(1); n%100 == 0 {
					fmt.Fprintf(stderr, "registered %d/%d users, %.1f/s\n", n, c.users, float64(n)/time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return d, ctx.Err()
}

// register registers user i of d under a random user number, trying another number
// when the username is taken (by an earlier run on the same server).
func register(ctx context.Context, client *http.Client, base string, d *directory, i int, rng *rand.Rand) error {
	for range 10 {
		n := 1 + rng.IntN(9_999_999)
		body, err := json.Marshal(map[string]any{
			"name":       seed.Name(n),
			"username":   seed.Username(n),
			"password":   seed.Password,
			"deviceInfo": map[string]string{"id": d.set.DeviceID(n, 0), "name": "usersload"},
		})
		if err != nil {
			return err
		}
		req, err := newRequest(ctx, http.MethodPost, base+"/users", body)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		switch resp.StatusCode {
		case http.StatusConflict:
			continue
		case http.StatusServiceUnavailable:
			time.Sleep(time.Second)
			continue
		case http.StatusOK:
		default:
			return fmt.Errorf("POST /users: %s: %s", resp.Status, b)
		}
		var info struct {
			ID             int64 `json:"id"`
			DeviceSessions []struct {
				AccessToken string `json:"accessToken"`
			} `json:"deviceSessions"`
		}
		if err := json.Unmarshal(b, &info); err != nil || len(info.DeviceSessions) == 0 || info.DeviceSessions[0].AccessToken == "" {
			return fmt.Errorf("POST /users: unexpected answer %.200s", b)
		}
		d.numbers[i], d.ids[i], d.tokens[i] = n, info.ID, info.DeviceSessions[0].AccessToken
		return nil
	}
	return fmt.Errorf("POST /users: no free username after 10 tries")
}
