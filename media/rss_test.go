package media_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"usersapi/media"
)

// The peak memory of previews (R-LIM-1) is measured in a process of its own, the test
// binary run again with rssCaseEnv naming the case: the peak resident set (VmHWM) of a
// process is what the case did, nothing else of the tests.
const rssCaseEnv = "MEDIA_RSS_CASE"

const MiB = 1 << 20

// rssResult is what a child process reports, as one JSON line on stdout.
type rssResult struct {
	PeakMiB     float64  `json:"peakMiB"`     // VmHWM after the previews
	AfterMiB    float64  `json:"afterMiB"`    // VmRSS once they are done
	BaselineMiB float64  `json:"baselineMiB"` // VmHWM once the input files are made
	Results     []string `json:"results"`     // per preview: its size or its error
}

// rssCase is one measurement: the files to preview at once, and the Previewer.
type rssCase struct {
	files     func() []rssFile
	limits    media.Limits
	unlimited bool // no budget: what the server did before R-LIM-1
}

type rssFile struct {
	fileType string
	data     []byte
}

func bombJPEG4() rssFile { return rssFile{"jpg", progressiveBomb(7071, 7071, 4)} }
func bombJPEG3() rssFile { return rssFile{"jpg", progressiveBomb(7071, 7071, 3)} }
func bombPNG16() rssFile { return rssFile{"png", png16Bomb(7000, 7000)} }

// photoJPEG is a 12-megapixel baseline jpg, as cameras write them (4:2:0).
func photoJPEG() rssFile {
	var b bytes.Buffer
	jpeg.Encode(&b, noise(4000, 3000), &jpeg.Options{Quality: 90})
	return rssFile{"jpg", b.Bytes()}
}

// photoPNG is a 4000x3000 RGBA png.
func photoPNG() rssFile {
	var b bytes.Buffer
	png.Encode(&b, noise(4000, 3000))
	return rssFile{"png", b.Bytes()}
}

// noise is an image of smooth gradients with some texture, so that encoders do real
// work.
func noise(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x*y>>7 ^ x), 255})
		}
	}
	return img
}

// atBudget is a progressive 3-component jpg whose estimate is just under the default
// per-image budget: the largest image a preview is made of.
func atBudget() rssFile {
	side := 7071
	for {
		f := progressiveBomb(side, side, 3)
		if n, _ := media.Estimate(f); n <= media.DefaultImageBudget {
			return rssFile{"jpg", f}
		}
		side -= 16
	}
}

func times(n int, f func() rssFile) func() []rssFile {
	return func() []rssFile {
		out := make([]rssFile, n)
		for i := range out {
			out[i] = f()
		}
		return out
	}
}

var rssCases = map[string]rssCase{
	"jpeg4":      {files: times(1, bombJPEG4)},
	"jpeg3":      {files: times(1, bombJPEG3)},
	"png16":      {files: times(1, bombPNG16)},
	"four-bombs": {files: func() []rssFile { return []rssFile{bombJPEG4(), bombJPEG3(), bombPNG16(), bombJPEG4()} }},
	// Four slots: the bytes are what bounds the decodes at once, not the processors.
	"four-at-budget": {files: times(4, atBudget), limits: media.Limits{Wait: 1 << 62, Slots: 4}},
	"one-at-budget":  {files: times(1, atBudget)},
	"photos":         {files: func() []rssFile { return []rssFile{photoJPEG(), photoPNG()} }},

	// What the bombs did with no budget. Run only when asked: they take gigabytes.
	"jpeg4-unlimited":      {files: times(1, bombJPEG4), unlimited: true},
	"jpeg3-unlimited":      {files: times(1, bombJPEG3), unlimited: true},
	"png16-unlimited":      {files: times(1, bombPNG16), unlimited: true},
	"four-bombs-unlimited": {files: func() []rssFile { return []rssFile{bombJPEG4(), bombJPEG3(), bombPNG16(), bombJPEG4()} }, unlimited: true},
}

// TestMain runs a case and exits when the binary is a child of TestPreviewPeakMemory.
func TestMain(m *testing.M) {
	if name := os.Getenv(rssCaseEnv); name != "" {
		runRSSCase(name)
		return
	}
	os.Exit(m.Run())
}

func runRSSCase(name string) {
	c, ok := rssCases[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "no case %q\n", name)
		os.Exit(2)
	}
	files := c.files()
	debug.FreeOSMemory()
	res := rssResult{BaselineMiB: procStatus("VmHWM")}
	// The peak from here on: the files are made, and reset the mark.
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	limits := c.limits
	if c.unlimited {
		limits.MaxPixels, limits.ImageBudget, limits.Slots = 1<<62, 1<<62, 4
	}
	p := media.NewPreviewerLimits(limits)
	res.Results = make([]string, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			w, h, err := p.Preview(bytes.NewReader(f.data), f.fileType, io.Discard)
			if err != nil {
				res.Results[i] = err.Error()
			} else {
				res.Results[i] = fmt.Sprintf("%dx%d", w, h)
			}
		})
	}
	wg.Wait()
	res.PeakMiB = procStatus("VmHWM")
	res.AfterMiB = procStatus("VmRSS")
	json.NewEncoder(os.Stdout).Encode(res)
	os.Exit(0)
}

// procStatus returns a field of /proc/self/status given in kB, in MiB.
func procStatus(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

func measureRSS(t *testing.T, name string) rssResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), rssCaseEnv+"="+name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.Bytes())
	}
	var res rssResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s: %v in %q", name, err, out)
	}
	t.Logf("%s: peak %.0f MiB (%.0f MiB before the previews), %.0f MiB after; %v", name, res.PeakMiB, res.BaselineMiB, res.AfterMiB, res.Results)
	return res
}

// TestPreviewPeakMemory covers R-LIM-1 by the peak resident memory of a process making
// previews: one bomb at most 256 MiB, four at once at most 512 MiB, four of the
// largest images that get previews at once at most 512 MiB, and ordinary photos still
// get previews. With MEDIA_RSS_UNLIMITED=1 it also shows what the bombs take with no
// budget (gigabytes).
func TestPreviewPeakMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector multiplies memory use; run without -race to measure")
	}
	if testing.Short() {
		t.Skip("makes and decodes images of hundreds of MB")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/self/status to read the peak resident memory")
	}
	refused := func(t *testing.T, res rssResult) {
		for i, r := range res.Results {
			if r != media.ErrImageTooLarge.Error() {
				t.Errorf("file %d: got %q, want %q", i, r, media.ErrImageTooLarge)
			}
		}
	}
	for _, tt := range []struct {
		name  string
		limit float64 // MiB of peak
		check func(*testing.T, rssResult)
	}{
		{"jpeg4", 256, refused},
		{"jpeg3", 256, refused},
		{"png16", 256, refused},
		{"four-bombs", 512, refused},
		{"one-at-budget", 256, nil},
		{"four-at-budget", 512, nil},
		{"photos", 256, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := measureRSS(t, tt.name)
			if res.PeakMiB > tt.limit {
				t.Errorf("peak %.0f MiB, want at most %.0f", res.PeakMiB, tt.limit)
			}
			if tt.check != nil {
				tt.check(t, res)
			} else {
				for i, r := range res.Results {
					if r != "350x350" && r != "350x263" && r != "350x262" {
						t.Errorf("file %d: got %q, want a preview", i, r)
					}
				}
				// The memory of the decodes is handed back.
				if res.AfterMiB > res.BaselineMiB+64 {
					t.Errorf("%.0f MiB resident after the previews, %.0f before", res.AfterMiB, res.BaselineMiB)
				}
			}
		})
	}
	if os.Getenv("MEDIA_RSS_UNLIMITED") == "1" {
		for _, name := range []string{"jpeg4-unlimited", "jpeg3-unlimited", "png16-unlimited", "four-bombs-unlimited"} {
			t.Run(name, func(t *testing.T) { measureRSS(t, name) })
		}
	}
}
