package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"
)

var versionCommand = &command{
	name:    "version",
	summary: "print the version, commit and Go version of this binary",
	about: `Prints the version of this binary (a module version when installed with go install
MODULE@VERSION, else "(devel)"), the commit it was built from when built in a git
checkout (marked "modified" when the checkout had uncommitted changes), and the Go
version and platform.`,
	run: func(inv *invocation) error {
		fmt.Fprint(inv.stdout, versionText())
		return nil
	},
}

func versionText() string {
	version, commit, when, modified := "(devel)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	out := "custd " + version + "\n"
	if commit != "" {
		out += "commit " + commit
		if when != "" {
			out += " (" + when + ")"
		}
		if modified {
			out += ", modified"
		}
		out += "\n"
	}
	return out + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
}

var healthcheckCommand = &command{
	name:    "healthcheck",
	summary: "check that the server on this machine is ready (for container health checks)",
	about: `Asks the server on this machine for /readyz and exits 0 when it answers 200, 1
otherwise. It finds the server from the same settings serve reads: CUSTD_ADDR (an
address on every interface is asked on the loopback one) and, when CUSTD_TLS_CERT is
set, HTTPS, without checking the certificate against the loopback address. It lets a
container image without a shell or curl run a HEALTHCHECK.`,
	flags: func(f *flags) {
		f.String("addr", "HOST:PORT", "CUSTD_ADDR", "127.0.0.1:8080", "the address serve listens on")
		f.String("tls-cert", "FILE", "CUSTD_TLS_CERT", "", "when set, the server speaks HTTPS")
		f.String("timeout", "DURATION", "", "5s", "how long to wait for the answer")
	},
	run: func(inv *invocation) error {
		timeout, err := time.ParseDuration(inv.flags.lookup("timeout"))
		if err != nil || timeout <= 0 {
			return fmt.Errorf("--timeout must be a duration such as 5s, not %q", inv.flags.lookup("timeout"))
		}
		url, err := readyzURL(inv.flags.lookup("addr"), inv.flags.lookup("tls-cert") != "")
		if err != nil {
			return err
		}
		return healthcheck(inv.ctx, url, timeout, inv.stdout)
	},
}

// readyzURL is the URL of /readyz of a server listening on addr.
func readyzURL(addr string, https bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: %w", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/readyz", nil
}

func healthcheck(ctx context.Context, url string, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		// The certificate names the public host, not the loopback address asked here.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d: %s", url, resp.StatusCode, body)
	}
	fmt.Fprintf(stdout, "%s: ready\n", url)
	return nil
}
