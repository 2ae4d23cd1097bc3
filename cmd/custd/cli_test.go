package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelp holds every help text to its golden file (go test -update rewrites them), and
// checks that custd help NAME and custd NAME --help print the same.
func TestHelp(t *testing.T) {
	texts := map[string][]string{"overview": {"help"}, "user": {"help", "user"}, "client": {"help", "client"}}
	for _, c := range commands {
		texts[strings.ReplaceAll(c.name, " ", "-")] = append([]string{"help"}, strings.Fields(c.name)...)
	}
	for name, args := range texts {
		out, err := cli(t, env{}, "", args...)
		if err != nil {
			t.Fatalf("custd %s: %v", strings.Join(args, " "), err)
		}
		golden := filepath.Join("testdata", "help", name+".golden")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("custd %s differs from %s (run go test -update to accept):\n%s", strings.Join(args, " "), golden, out)
		}
		if name == "overview" {
			continue
		}
		for _, flag := range []string{"--help", "-h"} {
			if again, err := cli(t, env{}, "", append(args[1:], flag)...); err != nil || again != out {
				t.Errorf("custd %s %s differs from custd %s: %v\n%s", strings.Join(args[1:], " "), flag, strings.Join(args, " "), err, again)
			}
		}
	}
	// The overview names every command; each command's help names every flag, its
	// default and its environment variable.
	overview, _ := cli(t, env{}, "", "help")
	for _, c := range commands {
		if !strings.Contains(overview, "  "+c.name+"  ") {
			t.Errorf("the overview does not list %s", c.name)
		}
		text := commandHelp(c)
		for _, d := range newFlags(c, env{}.get).defs {
			if !strings.Contains(text, "  --"+d.name) || (d.env != "" && !strings.Contains(text, "environment "+d.env)) ||
				(d.def != "" && !strings.Contains(text, "default "+d.def)) {
				t.Errorf("custd help %s does not describe --%s fully", c.name, d.name)
			}
		}
	}
	if err := run(t.Context(), []string{"custd"}, env{}.get, nil, &syncBuffer{}, &syncBuffer{}); err == nil {
		t.Fatal("no command: no error")
	}
}

func TestVersion(t *testing.T) {
	out, err := cli(t, env{}, "", "version")
	if err != nil || !regexp.MustCompile(`^custd \S+\n(commit [0-9a-f]+.*\n)?go1\.\d+\S* \w+/\w+\n$`).MatchString(out) {
		t.Fatalf("version: %v %q", err, out)
	}
}

// TestFlagsFromEnvironment: a flag wins over its environment variable, which wins over
// the default; a bad value in a variable is named as such.
func TestFlagsFromEnvironment(t *testing.T) {
	e := newEnv(t)
	e["CUSTD_RATE_LIMIT"] = "lots"
	if _, err := cli(t, e, "", "serve"); err == nil || !strings.Contains(err.Error(), `CUSTD_RATE_LIMIT="lots"`) {
		t.Fatalf("bad CUSTD_RATE_LIMIT: %v", err)
	}
	e["CUSTD_RATE_LIMIT"] = "-1"
	if _, err := cli(t, e, "", "serve", "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "--rate-limit must be 0") {
		t.Fatalf("negative rate limit: %v", err)
	}
	// CUSTD_DB names a store; --db another, and wins.
	other := filepath.Join(t.TempDir(), "other.db")
	if out, err := cli(t, e, "", "migrate", "--db", "sqlite:"+other); err != nil || !strings.Contains(out, "sqlite:"+other) {
		t.Fatalf("migrate --db: %v %q", err, out)
	}
	if _, err := os.Stat(strings.TrimPrefix(e["CUSTD_DB"], "sqlite:")); err == nil {
		t.Fatal("CUSTD_DB's store was created though --db named another")
	}
	delete(e, "CUSTD_RATE_LIMIT")
	for _, tc := range []struct{ args, want string }{
		{"--cors-origins portal.example.com", "--cors-origins: \"portal.example.com\" is not a web origin"},
		{"--trusted-proxies 10.0.0.0/33", "--trusted-proxies: \"10.0.0.0/33\" is neither"},
		{"--tls-cert x.pem", "--tls-cert and --tls-key go together"},
		{"--tls-cert nope.pem --tls-key nope.key", "--tls-cert nope.pem and --tls-key nope.key: open nope.pem"},
	} {
		if _, err := cli(t, e, "", append([]string{"serve"}, strings.Fields(tc.args)...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %s: %v, want %q", tc.args, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(strings.TrimPrefix(e["CUSTD_DB"], "sqlite:"))); len(entries) != 0 {
		t.Fatalf("refused starts left files: %v", entries)
	}
}

// TestPortTakenCreatesNothing: serve takes its address before anything else, so a start
// on a taken port leaves no store, no user and no password printed.
func TestPortTakenCreatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := newEnv(t)
	_, stderr, err := cliAll(t, e, "", "serve", "--addr", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+ln.Addr().String()+": the address is in use") {
		t.Fatalf("serve on a taken port: %v", err)
	}
	if strings.Contains(stderr, "password") {
		t.Fatalf("a password was printed: %s", stderr)
	}
	if _, err := os.Stat(strings.TrimPrefix(e["CUSTD_DB"], "sqlite:")); !os.IsNotExist(err) {
		t.Fatalf("a store was created: %v", err)
	}
	// The same with the profiler's address taken.
	_, _, err = cliAll(t, e, "", "serve", "--addr", "127.0.0.1:0", "--debug-addr", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "choose another with --debug-addr") {
		t.Fatalf("serve with a taken --debug-addr: %v", err)
	}
	if _, err := os.Stat(strings.TrimPrefix(e["CUSTD_DB"], "sqlite:")); !os.IsNotExist(err) {
		t.Fatalf("a store was created: %v", err)
	}
}

// TestCommandsCreateNoStore: in a folder without a store, the account commands create
// nothing and say which store they looked for and where its name came from.
func TestCommandsCreateNoStore(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{
		{"user", "add", "ann@demo"}, {"user", "list"}, {"client", "add", "acme"}, {"client", "list"},
		{"user", "disable", "admin@demo"}, {"user", "reset-password", "admin@demo"},
	} {
		_, err := cli(t, env{"CUSTD_PASSWORD": "a long enough password"}, "", args...)
		want := "no store at sqlite:" + filepath.Join(dir, "custd.db") + " (sqlite:custd.db, the default): custd serve or custd migrate creates one"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("custd %s: %v, want %q", strings.Join(args, " "), err, want)
		}
	}
	_, err := cli(t, env{"CUSTD_DB": "sqlite:elsewhere.db"}, "", "user", "list")
	if err == nil || !strings.Contains(err.Error(), "no store at sqlite:"+filepath.Join(dir, "elsewhere.db")+" (CUSTD_DB=sqlite:elsewhere.db)") {
		t.Errorf("with CUSTD_DB: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the commands created %v", entries)
	}
	// migrate creates it, and says what it did; the commands then use it and name it.
	out, err := cli(t, env{}, "", "migrate")
	if err != nil || !regexp.MustCompile(`^applied 0001_init.sql\n(applied \d{4}_\w+\.sql\n)+schema of sqlite:`+regexp.QuoteMeta(filepath.Join(dir, "custd.db"))+` is at version \d+\n$`).MatchString(out) ||
		!strings.Contains(out, "applied 0005_user_disabled.sql\n") {
		t.Fatalf("migrate on a new store: %v %q", err, out)
	}
	if out, err := cli(t, env{}, "", "migrate"); err != nil || !regexp.MustCompile(`^schema of sqlite:\S+ is at version \d+: up to date, nothing to apply\n$`).MatchString(out) {
		t.Fatalf("migrate again: %v %q", err, out)
	}
	out, stderr, err := cliAll(t, env{}, "", "client", "add", "acme")
	if err != nil || out != "created client acme (acme)\n" || stderr != "store: sqlite:"+filepath.Join(dir, "custd.db")+"\n" {
		t.Fatalf("client add: %v %q %q", err, out, stderr)
	}
}

// TestStoreErrors: a store that cannot be opened is explained with its path.
func TestStoreErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "folder", "custd.db")
	for _, args := range [][]string{{"migrate"}, {"user", "list"}, {"serve", "--addr", "127.0.0.1:0"}} {
		_, err := cli(t, env{"CUSTD_DB": "sqlite:" + missing}, "", args...)
		if err == nil || !strings.Contains(err.Error(), "sqlite "+missing+": folder "+filepath.Dir(missing)+" does not exist") {
			t.Errorf("custd %s: %v", strings.Join(args, " "), err)
		}
	}
}

// TestStorePermissionDenied runs custd as a user who may read the store's folder but not
// write it (as nobody when the tests run as root, who may write anywhere).
func TestStorePermissionDenied(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	db := filepath.Join(dir, "custd.db")
	if _, err := cli(t, env{"CUSTD_DB": "sqlite:" + db}, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	os.Mkdir(readOnly, 0o755)
	if os.Geteuid() != 0 {
		os.Chmod(dir, 0o555)
		os.Chmod(db, 0o444)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	check := func(args []string, want string) {
		t.Helper()
		var msg string
		if os.Geteuid() == 0 {
			msg = runAsNobody(t, dir, args...)
		} else {
			_, err := cli(t, env{}, "", args...)
			if err != nil {
				msg = err.Error()
			}
		}
		if !strings.Contains(msg, want) {
			t.Errorf("custd %s: %q, want %q", strings.Join(args, " "), msg, want)
		}
	}
	check([]string{"user", "list", "--db", "sqlite:" + db}, "sqlite "+db+": permission denied")
	check([]string{"migrate", "--db", "sqlite:" + filepath.Join(readOnly, "new.db")},
		"sqlite "+filepath.Join(readOnly, "new.db")+": permission denied: cannot create the database file in folder "+readOnly)
}

// runAsNobody runs the test binary as custd, as user nobody, and returns what it printed.
func runAsNobody(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin := filepath.Join(dir, "custd")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{beMain + "=1"}
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func TestUserCommands(t *testing.T) {
	e := newEnv(t)
	e["CUSTD_ADMIN_PASSWORD"] = "first admin password"
	s := startServe(t, e)
	if _, err := cli(t, e, "", "client", "add", "acme", "--name", "Acme Fiber"); err != nil {
		t.Fatal(err)
	}
	pw := env{"CUSTD_DB": e["CUSTD_DB"], "CUSTD_PASSWORD": "clerk password 123"}
	if _, err := cli(t, pw, "", "user", "add", "clerk@acme", "--role", "readonly"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, e, "", "client", "list")
	if err != nil || !regexp.MustCompile(`^CODE +NAME +USERS +CREATED\nacme +Acme Fiber +1 +\d{4}-\d\d-\d\d \d\d:\d\d UTC\ndemo +Demo +1 +`).MatchString(out) {
		t.Fatalf("client list: %v\n%s", err, out)
	}
	list := func(args ...string) string {
		t.Helper()
		out, err := cli(t, e, "", append([]string{"user", "list"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return regexp.MustCompile(` +\d{4}-\d\d-\d\d \d\d:\d\d UTC`).ReplaceAllString(regexp.MustCompile(` +`).ReplaceAllString(out, " "), "")
	}
	if got := list(); got != "LOGIN ROLE STATUS CREATED\nclerk@acme readonly enabled\nadmin@demo admin enabled\n" {
		t.Fatalf("user list:\n%s", got)
	}
	if got := list("--client", "DEMO"); got != "LOGIN ROLE STATUS CREATED\nadmin@demo admin enabled\n" {
		t.Fatalf("user list --client DEMO:\n%s", got)
	}
	if _, err := cli(t, e, "", "user", "list", "--client", "nope"); err == nil || !strings.Contains(err.Error(), `client "nope" does not exist`) {
		t.Fatalf("user list of a missing client: %v", err)
	}

	// set-role: the clerk may write.
	if s, _ := s.request(t, "clerk@acme", "clerk password 123", "POST", "/v1/Customers", `{}`); s != http.StatusForbidden {
		t.Fatalf("readonly POST: %d", s)
	}
	if out, err := cli(t, e, "", "user", "set-role", "CLERK@acme", "ReadWrite"); err != nil || out != "user clerk@acme now has role readwrite\n" {
		t.Fatalf("set-role: %v %q", err, out)
	}
	eventually(t, func() bool {
		st, _ := s.request(t, "clerk@acme", "clerk password 123", "POST", "/v1/Customers", `{}`)
		return st == http.StatusCreated
	}, "the new role applies")

	// disable: the server refuses the clerk within 5 seconds; enable lets it back.
	if out, err := cli(t, e, "", "user", "disable", "clerk@acme"); err != nil || !strings.Contains(out, "disabled user clerk@acme") {
		t.Fatalf("disable: %v %q", err, out)
	}
	eventually(t, func() bool {
		st, _ := s.request(t, "clerk@acme", "clerk password 123", "GET", "/v1/Customers", "")
		return st == http.StatusUnauthorized
	}, "the disabled user is refused")
	if got := list(); !strings.Contains(got, "clerk@acme readwrite disabled") {
		t.Fatalf("user list after disable:\n%s", got)
	}
	if _, err := cli(t, e, "", "user", "enable", "clerk@acme"); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.request(t, "clerk@acme", "clerk password 123", "GET", "/v1/Customers", ""); st != http.StatusOK {
		t.Fatalf("enabled user: %d", st)
	}

	// reset-password recovers a lost admin password: a generated one is printed once.
	out, err = cli(t, e, "", "user", "reset-password", "admin@demo")
	m := regexp.MustCompile(`^changed the password of admin@demo\npassword: (\S{24})\n$`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("reset-password: %v %q", err, out)
	}
	if st, _ := s.request(t, "admin@demo", m[1], "GET", "/v1/Customers", ""); st != http.StatusOK {
		t.Fatalf("the new password: %d", st)
	}
	eventually(t, func() bool {
		st, _ := s.request(t, "admin@demo", "first admin password", "GET", "/v1/Customers", "")
		return st == http.StatusUnauthorized
	}, "the old password stops working")
	// From standard input, as scripts pass it.
	if out, err := cli(t, e, "chosen admin password\n", "user", "reset-password", "admin@demo", "--password-stdin"); err != nil || out != "changed the password of admin@demo\n" {
		t.Fatalf("reset-password --password-stdin: %v %q", err, out)
	}
	if st, _ := s.request(t, "admin@demo", "chosen admin password", "GET", "/v1/Customers", ""); st != http.StatusOK {
		t.Fatalf("the chosen password: %d", st)
	}

	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"user", "disable", "ghost@acme"}, "", "user ghost@acme does not exist"},
		{[]string{"user", "enable", "clerk@nowhere"}, "", "user clerk@nowhere does not exist"},
		{[]string{"user", "set-role", "clerk@acme", "root"}, "", "the role must be one of admin, readwrite or readonly, not \"root\""},
		{[]string{"user", "reset-password", "clerk@acme", "--password-stdin"}, "short\n", "password must be at least 12 characters"},
		{[]string{"user", "disable", "clerk"}, "", `"clerk" is not USERNAME@CODE`},
	} {
		if _, err := cli(t, e, tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("custd %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if logs := s.stderr.String(); strings.Contains(logs, "clerk password") || strings.Contains(logs, "chosen admin password") {
		t.Fatal("the log holds a password")
	}
}

// eventually waits up to 15 seconds for cond: servers apply account changes within 5.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 seconds", what)
		}
	}
}

func TestAdminPasswordIgnoredWithUsers(t *testing.T) {
	e := newEnv(t)
	startServe(t, e).stop()
	e["CUSTD_ADMIN_PASSWORD"] = "another admin password"
	s := startServe(t, e)
	if !strings.Contains(s.stderr.String(), "CUSTD_ADMIN_PASSWORD is ignored: the store has users already") {
		t.Fatalf("no warning:\n%s", s.stderr.String())
	}
	if st, _ := s.request(t, "admin@demo", "another admin password", "GET", "/v1/Customers", ""); st != http.StatusUnauthorized {
		t.Fatalf("the ignored password signs in: %d", st)
	}
}

// testCertificate writes a self-signed certificate for 127.0.0.1 and its key, and
// returns their files and a pool that trusts it.
func testCertificate(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "custd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := testCertificate(t)
	e := newEnv(t)
	e["CUSTD_ADMIN_PASSWORD"] = "first admin password"
	e["CUSTD_TLS_KEY"] = keyFile // a flag and a variable together
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	s := startServeWith(t, e, client, "https", "--tls-cert", certFile)
	if !strings.Contains(s.stderr.String(), `"tls":true`) {
		t.Fatalf("the listening line does not say TLS:\n%s", s.stderr.String())
	}
	if st, body := s.request(t, "admin@demo", "first admin password", "GET", "/v1/Customers", ""); st != http.StatusOK {
		t.Fatalf("GET over TLS: %d %s", st, body)
	}
	// Links name the scheme the request came with.
	st, body := s.request(t, "admin@demo", "first admin password", "POST", "/v1/Customers", `{}`)
	if st != http.StatusCreated {
		t.Fatalf("POST over TLS: %d %s", st, body)
	}
	if _, body := s.request(t, "admin@demo", "first admin password", "GET", "/v1/Customers/1", ""); !strings.Contains(string(body), `"href":"https://`) {
		t.Fatalf("links over TLS: %s", body)
	}
	// Plain HTTP on the TLS port is refused.
	if resp, err := http.Get(strings.Replace(s.url, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS port: %d", resp.StatusCode)
		}
	}
	// The health check speaks TLS when CUSTD_TLS_CERT says the server does.
	addr := strings.TrimPrefix(s.url, "https://")
	if out, err := cli(t, env{"CUSTD_ADDR": addr, "CUSTD_TLS_CERT": certFile}, "", "healthcheck"); err != nil || out != "https://"+addr+"/readyz: ready\n" {
		t.Fatalf("healthcheck over TLS: %v %q", err, out)
	}
}

func TestHealthcheck(t *testing.T) {
	s := startServe(t, newEnv(t))
	addr := strings.TrimPrefix(s.url, "http://")
	_, port, _ := net.SplitHostPort(addr)
	// An address on every interface is checked on the loopback one.
	if out, err := cli(t, env{"CUSTD_ADDR": "0.0.0.0:" + port}, "", "healthcheck"); err != nil || out != "http://127.0.0.1:"+port+"/readyz: ready\n" {
		t.Fatalf("healthcheck: %v %q", err, out)
	}
	s.stop()
	if _, err := cli(t, env{}, "", "healthcheck", "--addr", addr, "--timeout", "2s"); err == nil || !strings.Contains(err.Error(), "healthcheck:") {
		t.Fatalf("healthcheck of a stopped server: %v", err)
	}
}

// TestServeCORS: --cors-origins reaches the API (its behaviour is tested in httpapi).
func TestServeCORS(t *testing.T) {
	e := newEnv(t)
	e["CUSTD_CORS_ORIGINS"] = "https://portal.example.com"
	s := startServe(t, e)
	req, _ := http.NewRequest("OPTIONS", s.url+"/v1/Customers", nil)
	req.Header.Set("Origin", "https://portal.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://portal.example.com" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
