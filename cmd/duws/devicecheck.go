package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/site"
	"github.com/urfave/cli/v2"
)

func deviceCheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "send a device-like check to a responder and say what the answer means",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Required: true, Usage: "the service's base `URL`, such as https://ucupdates-r2.contoso.com"},
			&cli.StringFlag{Name: "device", Required: true, Usage: "the device `IDENTITY`, DeviceType/Brand/Model/Revision/Locale"},
			&cli.StringFlag{Name: "version", Required: true, Usage: "the `VERSION` the device runs"},
			&cli.StringFlag{Name: "update-type", Value: "CPE", Usage: "the module's update `TYPE`"},
			&cli.StringFlag{Name: "mac", Usage: "the device's MAC address"},
			&cli.StringFlag{Name: "serial", Usage: "the device's serial number"},
			&cli.StringFlag{Name: "user", Usage: "the signed-in user (sent in the check, and as the Basic user)"},
			&cli.StringFlag{Name: "password", Usage: "the user's password (Basic authentication)", EnvVars: []string{"DUWS_PASSWORD"}},
			&cli.BoolFlag{Name: "external", Usage: "use the external path, /RequestHandlerExt/ucdevice.upx"},
			&cli.StringFlag{Name: "ca", Usage: "trust the CA certificates in `FILE` (PEM)"},
		},
		Action: func(c *cli.Context) error {
			return runDeviceCheck(c.App.Writer, c)
		},
	}
}

func runDeviceCheck(stdout io.Writer, c *cli.Context) error {
	id, err := policy.ParseIdentity(c.String("device"))
	if err != nil {
		return usageErrorf("check: --device: %v", err)
	}
	if _, err := policy.ParseVersion(c.String("version")); err != nil {
		return usageErrorf("check: --version: %v", err)
	}
	if err := checkDeviceFlags(c.String("mac"), c.String("serial")); err != nil {
		return err
	}
	req, err := checkRequest(c, id)
	if err != nil {
		return err
	}
	tlsCfg := &tls.Config{}
	if ca := c.String("ca"); ca != "" {
		if tlsCfg.RootCAs, err = readCAFile(ca); err != nil {
			return err
		}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	return explainAnswer(stdout, c, resp, b)
}

// checkRequest makes the check a device with identity id sends.
func checkRequest(c *cli.Context, id policy.Identity) (*http.Request, error) {
	esc := func(s string) string {
		var b strings.Builder
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<DeviceUpdateRequest>
  <Device><DeviceType>%s</DeviceType><MAC>%s</MAC><Serial>%s</Serial><Vendor>%s</Vendor><Model>%s</Model><Revision>%s</Revision><Locale>%s</Locale><User>%s</User></Device>
  <Modules><Module><Name>%s.nbt</Name><UpdateType>%s</UpdateType><Version>%s</Version><Timestamp>%s</Timestamp></Module></Modules>
</DeviceUpdateRequest>
`, esc(id.DeviceType), esc(c.String("mac")), esc(c.String("serial")), esc(id.Brand), esc(id.Model), esc(id.Revision), esc(id.Locale), esc(c.String("user")),
		esc(c.String("update-type")), esc(c.String("update-type")), esc(c.String("version")), time.Now().UTC().Format(time.RFC3339))
	p := "/RequestHandler/ucdevice.upx"
	if c.Bool("external") {
		p = "/RequestHandlerExt/ucdevice.upx"
	}
	req, err := http.NewRequest("POST", strings.TrimRight(c.String("url"), "/")+p, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if u := c.String("user"); u != "" && c.String("password") != "" {
		req.SetBasicAuth(u, c.String("password"))
	}
	return req, nil
}

// explainAnswer prints the responder's answer b and what it means.
func explainAnswer(stdout io.Writer, c *cli.Context, resp *http.Response, b []byte) error {
	fmt.Fprintf(stdout, "%s %s\n", resp.Proto, resp.Status)
	fmt.Fprintf(stdout, "%s\n", strings.TrimRight(string(b), "\n"))
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusForbidden:
		fmt.Fprintln(stdout, "meaning: denied — from outside, a device without a signed-in user may not update")
		return errFailed
	case http.StatusUnauthorized:
		fmt.Fprintln(stdout, "meaning: credentials required — give --user and --password of a valid account")
		return errFailed
	default:
		fmt.Fprintln(stdout, "meaning: the responder refused the check")
		return errFailed
	}
	a, err := site.ParseAnswer(b)
	if err != nil {
		return err
	}
	if len(a.Updates) == 0 {
		fmt.Fprintf(stdout, "meaning: %s — nothing to download; the device stays on %s\n", a.Status, c.String("version"))
		return nil
	}
	for _, u := range a.Updates {
		fmt.Fprintf(stdout, "meaning: update %s from %s to %s; the device downloads, waits for five idle minutes and reboots\n", u.UpdateType, c.String("version"), u.Version)
		base := u.InternalURL
		if c.Bool("external") {
			base = u.ExternalURL
		}
		for _, f := range u.Files {
			fmt.Fprintf(stdout, "  %s/%s  %d bytes  sha256 %s\n", base, f.Name, f.Size, f.SHA256)
		}
		if u.SignatureFile != "" {
			fmt.Fprintf(stdout, "  signature file: %s\n", u.SignatureFile)
		}
	}
	return nil
}

// readCAFile reads the PEM certificates of a private CA that the service's
// certificate is checked against.
func readCAFile(name string) (*x509.CertPool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", name)
	}
	return pool, nil
}
