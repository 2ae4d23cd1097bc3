package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/custd/custd/internal/httpapi"
)

func TestOpenAPIDocumentServed(t *testing.T) {
	for _, f := range []httpapi.TimeFormat{httpapi.TimeRFC3339, httpapi.TimeRevio} {
		a := newAPI(t, storeKinds[0].open(t), httpapi.Config{TimeFormat: f})
		r := a.do(nobody, "GET", "/openapi.json", nil).want(t, http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", f, ct)
		}
		if !bytes.Equal(r.body, httpapi.OpenAPIDocument(f)) {
			t.Errorf("%s: /openapi.json is not the document of this time format", f)
		}
		page := a.do(nobody, "GET", "/docs", nil).want(t, http.StatusOK)
		if ct := page.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: /docs Content-Type %q", f, ct)
		}
		if !bytes.Contains(page.body, []byte(`"openapi": "3.1.0"`)) || !bytes.Contains(page.body, []byte("Redoc.init(")) {
			t.Errorf("%s: /docs does not carry the document and the renderer", f)
		}
		for _, external := range []string{`src="http`, `href="http`, `src="//`, `href="//`} {
			if bytes.Contains(page.body, []byte(external)) {
				t.Errorf("%s: /docs loads something from another host (%s)", f, external)
			}
		}
	}
}

// TestReferenceCompressedAndCached: /openapi.json and /docs are sent gzip-compressed to
// clients that take it, with validators that make a conditional GET a 304.
func TestReferenceCompressedAndCached(t *testing.T) {
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{})
	for path, plain := range map[string][]byte{"/openapi.json": httpapi.OpenAPIDocument(httpapi.TimeRFC3339), "/docs": nil} {
		// Plain (checked against the document by do).
		r := a.do(nobody, "GET", path, nil, header{"Accept-Encoding", "identity"}).want(t, http.StatusOK)
		plainTag, modified := r.header.Get("ETag"), r.header.Get("Last-Modified")
		if r.header.Get("Content-Encoding") != "" || plainTag == "" || modified == "" || r.header.Get("Cache-Control") != "no-cache" ||
			(plain != nil && !bytes.Equal(r.body, plain)) {
			t.Fatalf("%s plain: %v", path, r.header)
		}
		// Compressed: the same bytes once inflated, under their own tag, much smaller.
		req, _ := http.NewRequest("GET", a.url+path, nil)
		req.Header.Set("Accept-Encoding", "br;q=1, gzip;q=0.8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		zipped, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		gzipTag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") ||
			gzipTag == "" || gzipTag == plainTag {
			t.Fatalf("%s gzip: %d %v", path, resp.StatusCode, resp.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatal(err)
		}
		inflated, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(inflated, r.body) {
			t.Fatalf("%s: the compressed body is not the plain one: %v", path, err)
		}
		if len(zipped)*3 > len(inflated) {
			t.Errorf("%s: %d bytes compressed to %d", path, len(inflated), len(zipped))
		}
		// Conditional requests.
		a.do(nobody, "GET", path, nil, header{"Accept-Encoding", "gzip"}, header{"If-None-Match", gzipTag}).want(t, http.StatusNotModified)
		a.do(nobody, "GET", path, nil, header{"Accept-Encoding", "identity"}, header{"If-None-Match", `"other", W/` + plainTag}).want(t, http.StatusNotModified)
		a.do(nobody, "GET", path, nil, header{"Accept-Encoding", "identity"}, header{"If-None-Match", gzipTag}).want(t, http.StatusOK)
		a.do(nobody, "GET", path, nil, header{"Accept-Encoding", "identity"}, header{"If-Modified-Since", modified}).want(t, http.StatusNotModified)
		a.do(nobody, "GET", path, nil, header{"Accept-Encoding", "identity"}, header{"If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"}).want(t, http.StatusOK)
		if r := a.do(nobody, "HEAD", path, nil, header{"Accept-Encoding", "identity"}).want(t, http.StatusOK); len(r.body) != 0 || r.header.Get("ETag") != plainTag {
			t.Fatalf("%s HEAD: %v", path, r.header)
		}
	}
}

// chromium returns the path of a Chromium to drive, or "" when there is none. The test
// that needs it skips without one, unless CUSTD_REQUIRE_BROWSER=1 (as in CI).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CUSTD_REQUIRE_BROWSER") == "1" {
		t.Fatal("CUSTD_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
	}
	t.Skip("no chromium installed (apt-get install chromium); CUSTD_REQUIRE_BROWSER=1 makes this a failure")
	return ""
}

// TestReferencePageInBrowser loads /docs in headless Chromium that can resolve no host but
// the test server's, and checks that the reference renders the PUT operation and the
// Customer members, that its search finds operations, that it asked for nothing from
// another origin, and that the console shows no error. CUSTD_SCREENSHOT=file.png saves a
// screenshot of the page.
func TestReferencePageInBrowser(t *testing.T) {
	exe := chromium(t)
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{})
	origin, err := url.Parse(a.url)
	if err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Offline but for the server under test: any other host fails to resolve.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE "+origin.Hostname()),
		chromedp.WindowSize(1400, 1000),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	defer cancelBrowser()

	var mu sync.Mutex
	var problems, elsewhere []string
	err = chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				problems = append(problems, fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			u, err := url.Parse(ev.Request.URL)
			if err != nil || (u.Scheme != "data" && u.Scheme != "blob" && u.Host != origin.Host) {
				elsewhere = append(elsewhere, ev.Request.URL)
			}
		}
	})
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}

	for _, enable := range []func() error{
		func() error { _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); return err },
		func() error { _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); return err },
		func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err },
	} {
		if err := enable(); err != nil {
			t.Fatalf("driving chromium: %v", err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/docs")); err != nil {
		t.Fatalf("loading /docs: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.innerText.includes("Replace a customer")`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the reference did not render: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"custd Customers API", "Replace a customer", "/v1/Customers/{id}", "If-Match", "Idempotency-Key",
		"registration_code", "account_number", "close_on_no_active_services", "billing_address", "status",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page does not show %q", want)
		}
	}
	putBadges, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll("span")].filter(s => s.textContent.trim().toLowerCase() === "put").length`))
	if err != nil {
		t.Fatal(err)
	}
	if putBadges == 0 {
		t.Error("the rendered page shows no PUT operation")
	}

	// The search box finds the close operation.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[placeholder="Search..."]`), "close")); err != nil {
		t.Fatalf("searching: %v", err)
	}
	results, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(document.querySelector('[data-role="search:results"]') || {}).innerText || null`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("searching: %v", err)
	}
	if !strings.Contains(results, "Close a customer") {
		t.Errorf("searching for close found %q", results)
	}

	if path := os.Getenv("CUSTD_SCREENSHOT"); path != "" {
		// The PUT operation, as a reader who follows a link to it sees it.
		err := chromedp.Do(ctx, chromedp.Navigate(a.url+"/docs#tag/Customers/operation/replaceCustomer"), chromedp.Sleep(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(elsewhere) > 0 {
		t.Errorf("the page asked for resources of another origin: %v", elsewhere)
	}
	if len(problems) > 0 {
		t.Errorf("the console shows errors:\n%s", strings.Join(problems, "\n"))
	}
}
