package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConsoleBesideTheAPI: serve answers the console under /console/ and sends a browser
// at / there, the API keeps every other path, and a failed console sign-in shows in the
// client's request log through the API, written by the one request log writer.
func TestConsoleBesideTheAPI(t *testing.T) {
	e := newEnv(t)
	e["CUSTD_ADMIN_PASSWORD"] = "first admin password"
	s := startServe(t, e)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, _ := get("/"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("GET /: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get("/console/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/sign-in" {
		t.Fatalf("GET /console/: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := get("/console/sign-in")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	signIn := func(pw string) *http.Response {
		resp, err := browser.PostForm(s.url+"/console/sign-in", url.Values{"token": {token}, "login": {"admin@demo"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := signIn("not the password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", resp.StatusCode)
	}
	_, page = get("/console/sign-in")
	token = regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	if resp := signIn("first admin password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in: %d", resp.StatusCode)
	}
	if resp, page := get("/console/customers"); resp.StatusCode != http.StatusOK || !strings.Contains(page, "admin@demo") {
		t.Fatalf("the customer list: %d\n%.1000s", resp.StatusCode, page)
	}
	// The API's paths are the API's, errors in JSON.
	if status, body := s.request(t, "admin@demo", "first admin password", "GET", "/nope", ""); status != http.StatusNotFound ||
		!strings.HasPrefix(string(body), `{"ok":false`) {
		t.Fatalf("GET /nope: %d %s", status, body)
	}
	// Records are written every 250 ms: look until they are there.
	var saw []int
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); len(saw) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var status int
		status, body = s.request(t, "admin@demo", "first admin password", "GET", "/v1/RequestLogs?method=POST", "")
		var log struct {
			Records []struct {
				Path, Username string
				Status         int
			}
		}
		if err := json.Unmarshal(body, &log); status != http.StatusOK || err != nil {
			t.Fatalf("request log: %d %s", status, body)
		}
		saw = saw[:0]
		for _, r := range log.Records {
			if r.Path == "/console/sign-in" && r.Username == "admin" {
				saw = append(saw, r.Status)
			}
		}
	}
	if len(saw) != 2 || saw[0] != http.StatusSeeOther || saw[1] != http.StatusUnauthorized {
		t.Fatalf("console sign-ins in the request log: %v (%s)", saw, body)
	}
}
